#[cfg(feature = "zstd")]
use zstd::block::{compress, decompress};

use crate::*;

use super::{
    arr_to_u32, gc_blobs, pwrite_all, raw_segment_iter_from, u32_to_arr,
    u64_to_arr, BasedBuf, DiskPtr, LogIter, LogKind, LogOffset, Lsn,
    MessageKind, PageStates,
};

/// A snapshot of the state required to quickly restart
/// the `PageCache` and `SegmentAccountant`.
#[derive(PartialEq, Debug, Default)]
#[cfg_attr(test, derive(Clone))]
pub struct Snapshot {
    /// The last read message lsn
    pub stable_lsn: Option<Lsn>,
    /// The last read message lid
    pub active_segment: Option<LogOffset>,
    /// the mapping from pages to (lsn, lid)
    /// OnePoint: kept as read from the file, each decoded when asked for.
    pub pt: PageStates,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PageState {
    /// Present signifies a page that has some data.
    ///
    /// It has two parts. The base and the fragments.
    /// `base` is separated to guarantee that it will
    /// always have at least one because it is
    /// correct by construction.
    /// The third element in each tuple is the on-log
    /// size for the corresponding write. If things
    /// are pretty large, they spill into the blobs
    /// directory, but still get a small pointer that
    /// gets written into the log. The sizes are used
    /// for the garbage collection statistics on
    /// segments. The lsn and the DiskPtr can be used
    /// for actually reading the item off the disk,
    /// and the size tells us how much storage it uses
    /// on the disk.
    Present {
        base: (Lsn, DiskPtr, u64),
        frags: Vec<(Lsn, DiskPtr, u64)>,
    },

    /// This is a free page.
    Free(Lsn, DiskPtr),
    Uninitialized,
}

impl PageState {
    fn push(&mut self, item: (Lsn, DiskPtr, u64)) {
        match *self {
            PageState::Present { base, ref mut frags } => {
                if frags.last().map_or(base.0, |f| f.0) < item.0 {
                    frags.push(item)
                } else {
                    debug!(
                        "skipping merging item {:?} into \
                        existing PageState::Present({:?})",
                        item, frags
                    );
                }
            }
            _ => panic!("pushed frags to {:?}", self),
        }
    }

    pub(crate) fn is_free(&self) -> bool {
        match *self {
            PageState::Free(_, _) => true,
            _ => false,
        }
    }

    #[cfg(feature = "testing")]
    fn offsets(&self) -> Vec<LogOffset> {
        match *self {
            PageState::Present { base, ref frags } => {
                let mut offsets = vec![base.1.lid()];
                for (_, ptr, _) in frags {
                    offsets.push(ptr.lid());
                }
                offsets
            }
            PageState::Free(_, ptr) => vec![ptr.lid()],
            PageState::Uninitialized => {
                panic!("called offsets on Uninitialized")
            }
        }
    }
}

impl Snapshot {
    pub fn recovered_coords(
        &self,
        segment_size: usize,
    ) -> (Option<LogOffset>, Option<Lsn>) {
        if self.stable_lsn.is_none() {
            return (None, None);
        }

        let stable_lsn = self.stable_lsn.unwrap();

        if let Some(base_offset) = self.active_segment {
            let progress = stable_lsn % segment_size as Lsn;
            let offset = base_offset + LogOffset::try_from(progress).unwrap();

            (Some(offset), Some(stable_lsn))
        } else {
            let lsn_idx = stable_lsn / segment_size as Lsn
                + if stable_lsn % segment_size as Lsn == 0 { 0 } else { 1 };
            let next_lsn = lsn_idx * segment_size as Lsn;
            (None, Some(next_lsn))
        }
    }

    fn apply(
        &mut self,
        log_kind: LogKind,
        pid: PageId,
        lsn: Lsn,
        disk_ptr: DiskPtr,
        sz: u64,
    ) -> Result<()> {
        trace!(
            "trying to deserialize buf for pid {} ptr {} lsn {}",
            pid,
            disk_ptr,
            lsn
        );
        let _measure = Measure::new(&M.snapshot_apply);

        let pushed = if self.pt.len() <= usize::try_from(pid).unwrap() {
            self.pt.grow_to(usize::try_from(pid + 1).unwrap());
            true
        } else {
            false
        };

        match log_kind {
            LogKind::Replace => {
                trace!(
                    "compact of pid {} at ptr {} lsn {}",
                    pid,
                    disk_ptr,
                    lsn,
                );

                let pid_usize = usize::try_from(pid).unwrap();

                self.pt.set(
                    pid_usize,
                    PageState::Present { base: (lsn, disk_ptr, sz), frags: vec![] },
                );
            }
            LogKind::Link => {
                // Because we rewrite pages over time, we may have relocated
                // a page's initial Compact to a later segment. We should skip
                // over pages here unless we've encountered a Compact for them.
                if let Some(lids @ PageState::Present { .. }) =
                    self.pt.get_mut(usize::try_from(pid).unwrap())
                {
                    trace!(
                        "append of pid {} at lid {} lsn {}",
                        pid,
                        disk_ptr,
                        lsn,
                    );

                    lids.push((lsn, disk_ptr, sz));
                } else {
                    trace!(
                        "skipping dangling append of pid {} at lid {} lsn {}",
                        pid,
                        disk_ptr,
                        lsn,
                    );
                    if pushed {
                        let old = self.pt.pop().unwrap();
                        if old != PageState::Uninitialized {
                            error!("expected previous page state to be uninitialized");
                            return Err(Error::corruption(None));
                        }
                    }
                }
            }
            LogKind::Free => {
                trace!("free of pid {} at ptr {} lsn {}", pid, disk_ptr, lsn);
                self.pt.set(
                    usize::try_from(pid).unwrap(),
                    PageState::Free(lsn, disk_ptr),
                );
            }
            LogKind::Corrupted | LogKind::Skip => {
                error!(
                    "unexpected messagekind in snapshot application for pid {}: {:?}",
                    pid, log_kind
                );
                return Err(Error::corruption(None));
            }
        }

        Ok(())
    }
}

fn advance_snapshot(
    mut iter: LogIter,
    mut snapshot: Snapshot,
    config: &RunningConfig,
    dry_run: bool,
) -> Result<(Snapshot, bool)> {
    let _measure = Measure::new(&M.advance_snapshot);

    trace!("building on top of old snapshot: {:?}", snapshot);

    let old_stable_lsn = snapshot.stable_lsn;

    while let Some((log_kind, pid, lsn, ptr, sz)) = iter.next() {
        trace!(
            "in advance_snapshot looking at item with pid {} lsn {} ptr {}",
            pid,
            lsn,
            ptr
        );

        if lsn < snapshot.stable_lsn.unwrap_or(-1) {
            // don't process already-processed Lsn's. stable_lsn is for the last
            // item ALREADY INCLUDED lsn in the snapshot.
            trace!(
                "continuing in advance_snapshot, lsn {} ptr {} stable_lsn {:?}",
                lsn,
                ptr,
                snapshot.stable_lsn
            );
            continue;
        }

        if lsn >= iter.max_lsn.unwrap() {
            error!("lsn {} >= iter max_lsn {}", lsn, iter.max_lsn.unwrap());
            return Err(Error::corruption(None));
        }

        snapshot.apply(log_kind, pid, lsn, ptr, sz)?;
    }

    // `snapshot.tip_lid` can be set based on 4 possibilities for the tip of the
    // log:
    // 1. an empty DB - tip set to None, causing a fresh segment to be
    //    allocated on initialization
    // 2. the recovered tip is at the end of a
    //    segment with less space left than would fit MAX_MSG_HEADER_LEN -
    //    tip set to None, causing a fresh segment to be allocated on
    //    initialization, as in #1 above
    // 3. the recovered tip is in the middle of a segment - both set to the end
    //    of the last valid message, causing the system to be initialized to
    //    that point without allocating a new segment
    // 4. the recovered tip is at the beginning of a new segment, but without
    //    any valid messages in it yet. treat as #3 above, but also take care
    //    in te SA initialization to properly initialize any segment tracking
    //    state despite not having any pages currently residing there.

    let no_recovery_progress = iter.cur_lsn.is_none()
        || iter.cur_lsn.unwrap() <= snapshot.stable_lsn.unwrap_or(0);
    let db_is_empty = no_recovery_progress && snapshot.stable_lsn.is_none();

    #[cfg(feature = "testing")]
    let mut shred_point = None;

    let snapshot = if db_is_empty {
        trace!("db is empty, returning default snapshot");
        if snapshot != Snapshot::default() {
            error!("expected snapshot to be Snapshot::default");
            return Err(Error::corruption(None));
        }
        snapshot
    } else if iter.cur_lsn.is_none() {
        trace!(
            "no recovery progress happened since the last snapshot \
            was generated, returning the previous one"
        );
        snapshot
    } else {
        let iterated_lsn = iter.cur_lsn.unwrap();

        let segment_progress: Lsn = iterated_lsn % (config.segment_size as Lsn);

        // progress should never be below the SEG_HEADER_LEN if the segment_base
        // is set. progress can only be 0 if we've maxed out the
        // previous segment, unsetting the iterator segment_base in the
        // process.
        let monotonic = segment_progress >= SEG_HEADER_LEN as Lsn
            || (segment_progress == 0 && iter.segment_base.is_none());
        if !monotonic {
            error!("expected segment progress {} to be above SEG_HEADER_LEN or == 0, cur_lsn: {}",
                segment_progress,
                iterated_lsn,
            );
            return Err(Error::corruption(None));
        }

        let (stable_lsn, active_segment) = if segment_progress
            + MAX_MSG_HEADER_LEN as Lsn
            >= config.segment_size as Lsn
        {
            let bumped =
                config.normalize(iterated_lsn) + config.segment_size as Lsn;
            trace!("bumping snapshot.stable_lsn to {}", bumped);
            (bumped, None)
        } else {
            if let (false, Some(BasedBuf { offset, .. })) =
                (dry_run, iter.segment_base.as_ref())
            {
                let offset = *offset;
                // either situation 3 or situation 4. we need to zero the
                // tail of the segment after the recovered tip
                let shred_len = config.segment_size
                    - usize::try_from(segment_progress).unwrap()
                    - 1;
                let shred_zone = vec![MessageKind::Corrupted.into(); shred_len];
                let shred_base =
                    offset + LogOffset::try_from(segment_progress).unwrap();

                #[cfg(feature = "testing")]
                {
                    shred_point = Some(shred_base);
                }

                debug!(
                    "zeroing the end of the recovered segment at lsn {} between lids {} and {}",
                    config.normalize(iterated_lsn),
                    shred_base,
                    shred_base + shred_len as LogOffset
                );
                pwrite_all(&config.file, &shred_zone, shred_base)?;
                config.file.sync_all()?;
            }
            (iterated_lsn, iter.segment_base.map(|bb| bb.offset))
        };

        if stable_lsn < snapshot.stable_lsn.unwrap_or(0) {
            error!(
                "unexpected corruption encountered in storage snapshot file. \
                stable lsn {} should be >= snapshot.stable_lsn {}",
                stable_lsn,
                snapshot.stable_lsn.unwrap_or(0),
            );
            return Err(Error::corruption(None));
        }

        snapshot.stable_lsn = Some(stable_lsn);
        snapshot.active_segment = active_segment;

        snapshot
    };

    trace!("generated snapshot: {:?}", snapshot);

    if snapshot.stable_lsn < old_stable_lsn {
        error!("unexpected corruption encountered in storage snapshot file");
        return Err(Error::corruption(None));
    }

    // OnePoint: whether it advanced past the snapshot on disk; the caller writes it
    // (`read_snapshot_or_default`, or `SnapshotWriter` on a thread of its own).
    let advanced = snapshot.stable_lsn > old_stable_lsn;

    #[cfg(feature = "testing")]
    let reverse_segments = {
        use std::collections::{HashMap, HashSet};
        let shred_base = shred_point.unwrap_or(LogOffset::max_value());
        let mut reverse_segments = HashMap::new();
        for (pid, page) in snapshot.pt.iter().enumerate() {
            let offsets = page.offsets();
            for offset in offsets {
                let segment = config.normalize(offset);
                if segment == config.normalize(shred_base) {
                    assert!(
                        offset < shred_base,
                        "we shredded the location for pid {}
                        with locations {:?}
                        by zeroing the file tip after lid {}",
                        pid,
                        page,
                        shred_base
                    );
                }
                let entry = reverse_segments
                    .entry(segment)
                    .or_insert_with(HashSet::new);
                entry.insert((pid, offset));
            }
        }
        reverse_segments
    };

    // OnePoint: a dry run (`recovery_dry_run`, the audit's) changes nothing on disk.
    if dry_run {
        return Ok((snapshot, advanced));
    }

    for (lsn, to_zero) in &iter.segments {
        debug!("zeroing torn segment at lsn {} lid {}", lsn, to_zero);

        #[cfg(feature = "testing")]
        {
            if let Some(pids) = reverse_segments.get(to_zero) {
                assert!(
                    pids.is_empty(),
                    "expected segment that we're zeroing at lid {} \
                    lsn {} \
                    to contain no pages, but it contained pids {:?}",
                    to_zero,
                    lsn,
                    pids
                );
            }
        }

        // NB we intentionally corrupt this header to prevent any segment
        // from being allocated which would duplicate its LSN, messing
        // up recovery in the future.
        io_fail!(config, "segment initial free zero");
        pwrite_all(
            &config.file,
            &*vec![MessageKind::Corrupted.into(); config.segment_size],
            *to_zero,
        )?;
        if !config.temporary {
            config.file.sync_all()?;
        }
    }

    // remove all blob files larger than our stable offset
    if let Some(stable_lsn) = snapshot.stable_lsn {
        gc_blobs(config, stable_lsn)?;
    }

    #[cfg(feature = "event_log")]
    config.event_log.recovered_lsn(snapshot.stable_lsn.unwrap_or(0));

    Ok((snapshot, advanced))
}

/// Read a `Snapshot` or generate a default, then advance it to
/// the tip of the data file, if present.
pub fn read_snapshot_or_default(config: &RunningConfig) -> Result<Snapshot> {
    let (res, advanced) = read_snapshot_to_write_later(config)?;
    if advanced {
        write_snapshot(config, &res)?;
    }
    Ok(res)
}

/// OnePoint: `read_snapshot_or_default` for `PageCache::start`, which writes the
/// snapshot itself once the pages are installed, on a thread of its own
/// (`write_snapshot_later`): the snapshot, and whether it advanced past the one on disk.
pub(crate) fn read_snapshot_to_write_later(
    config: &RunningConfig,
) -> Result<(Snapshot, bool)> {
    // NB we want to error out if the read snapshot was corrupted.
    // We only use a default Snapshot when there is no snapshot found.
    let last_snap = read_snapshot(config)?.unwrap_or_else(Snapshot::default);
    let log_iter =
        raw_segment_iter_from(last_snap.stable_lsn.unwrap_or(0), config)?;
    advance_snapshot(log_iter, last_snap, config, false)
}

/// OnePoint: what an open would recover from the files as they are now (the newest
/// snapshot advanced over the log as `read_snapshot_to_write_later` does), changing
/// nothing on disk: no unfinished snapshot removed, no torn tail zeroed, no blob
/// removed. For the audit (`PageCache::audit_recovery`), on a store in use: what a
/// kill at this moment would leave.
/// Returns the snapshot recovered and the lsn the log was read from (the snapshot
/// file's).
pub(crate) fn recovery_dry_run(config: &RunningConfig) -> Result<(Snapshot, Lsn)> {
    let last_snap =
        read_snapshot_files(config, false)?.unwrap_or_else(Snapshot::default);
    let from = last_snap.stable_lsn.unwrap_or(0);
    let log_iter = raw_segment_iter_from(from, config)?;
    advance_snapshot(log_iter, last_snap, config, true).map(|(s, _)| (s, from))
}

/// OnePoint: one snapshot written at a time in the process, so an older one never
/// replaces a newer (each removes the others once it is in place).
static SNAPSHOT_WRITES: parking_lot::Mutex<()> = parking_lot::const_mutex(());

/// OnePoint: the snapshot read back at open, written on a thread of its own while the
/// open goes on; `finish` returns the thread, to be joined when the page cache closes.
/// sled wrote it before the open went on: on a 17.9M-deal store (about 1.3M pages, a
/// 24 MB snapshot) 87 ms of every open after a session that wrote (serializing 26,
/// writing 36, fsync 15, removing the old file 10). The page table keeps the snapshot
/// to install its pages from as they are asked for (`PageTable::with_unread`), so the
/// open does not wait for the writer to have serialized it either.
///
/// Writing it may wait: the snapshot is a shortcut over the log, never the only copy of
/// anything. While it is being written the one before it stays in place, as during the
/// whole of any session: sled reuses a segment only once no page has a piece left in
/// it, so replaying the log from the older snapshot, over segments reused since, ends
/// in the same pages (the segments present are read in the order of their sequence
/// numbers, holes and all, `scan_segment_headers_and_tail`). The new file is written
/// aside, synced and renamed over (`write_snapshot`); one cut off midway (a kill) is
/// left as `.generating`, which the store removes at its next open. A snapshot already
/// on disk at the same point or later is not replaced by this one.
///
/// No thread to be had, it is written by `finish`, before the open goes on.
pub(crate) struct SnapshotWriter {
    snapshot: std::sync::Arc<Snapshot>,
    /// The snapshot as the page table reads it (`slot`).
    slot: SharedSnapshot,
    thread: Option<std::thread::JoinHandle<()>>,
    config: RunningConfig,
    write: bool,
}

impl SnapshotWriter {
    /// Starts writing `snapshot` if `write` (it advanced past the one on disk).
    pub(crate) fn start(
        config: RunningConfig,
        snapshot: Snapshot,
        write: bool,
    ) -> SnapshotWriter {
        let snapshot = std::sync::Arc::new(snapshot);
        let slot = std::sync::Arc::new(parking_lot::RwLock::new(snapshot.clone()));
        let mut writer = SnapshotWriter {
            snapshot,
            slot,
            thread: None,
            config,
            write,
        };
        if write {
            let (ours, config) = (writer.snapshot.clone(), writer.config.clone());
            let slot = writer.slot.clone();
            let spawned = std::thread::Builder::new()
                .name("sled-snapshot".into())
                .spawn(move || {
                    let lsn = ours.stable_lsn.unwrap_or(0);
                    let raw_bytes = ours.serialize();
                    let compact = read_back_compact(&ours, &raw_bytes);
                    drop(ours);
                    if let Some(compact) = compact {
                        *slot.write() = std::sync::Arc::new(compact);
                    }
                    write_snapshot_if_newest(&config, raw_bytes, lsn);
                });
            if let Ok(thread) = spawned {
                writer.thread = Some(thread);
            }
        }
        writer
    }

    /// The snapshot, to read the pages from.
    pub(crate) fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The snapshot, shared (the log's recovery reads it).
    pub(crate) fn shared(&self) -> std::sync::Arc<Snapshot> {
        self.snapshot.clone()
    }

    /// The snapshot as the page table keeps it to install its pages from: the writer
    /// puts it there again in compact form once serialized (`read_back_compact`).
    pub(crate) fn slot(&self) -> SharedSnapshot {
        self.slot.clone()
    }

    /// Returns the writer's thread. With no thread, writes the snapshot first.
    pub(crate) fn finish(mut self) -> Option<std::thread::JoinHandle<()>> {
        if self.thread.is_none() && self.write {
            let lsn = self.snapshot.stable_lsn.unwrap_or(0);
            write_snapshot_if_newest(&self.config, self.snapshot.serialize(), lsn);
        }
        self.thread.take()
    }
}

impl Drop for SnapshotWriter {
    /// An open that failed after the writer started waits for it: nothing of the open
    /// goes on behind its error.
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// OnePoint: the snapshot the page table installs pages from (`PageTable::with_unread`),
/// which the snapshot's writer replaces with the same snapshot in compact form
/// (`read_back_compact`).
pub(crate) type SharedSnapshot =
    std::sync::Arc<parking_lot::RwLock<std::sync::Arc<Snapshot>>>;

/// OnePoint (item 40): `ours` read back from its serialization `raw_bytes`, every page
/// state kept as bytes; `None` where it holds none decoded. A snapshot advanced over the
/// log's tail holds each page state the tail set decoded in a map (`PageStates`), about
/// 120 bytes a page with its fragments, where its serialization takes about 20; the
/// page table kept that map for the store's life. A console on a 10M-deal store
/// reopened under `onepoint demo --rate 2000` (`Store::snapshot`, every 1M keys
/// written) held 21.9 MB in it (heaptrack), and so does any open after a session that
/// wrote and was killed. Built on the writer's thread, off the open's path.
fn read_back_compact(ours: &Snapshot, raw_bytes: &[u8]) -> Option<Snapshot> {
    if ours.pt.decoded() == 0 || raw_bytes.len() > u32::MAX as usize {
        return None;
    }
    let compact = Snapshot::from_bytes(raw_bytes.to_vec()).ok()?;
    debug_assert!(compact == *ours, "a snapshot read back unlike itself");
    Some(compact)
}

/// Writes a snapshot at `ours` (serialized) unless one at its point or later is on disk
/// already; a failure is logged and its partial file removed: the next open replays a
/// longer tail.
fn write_snapshot_if_newest(config: &RunningConfig, raw_bytes: Vec<u8>, ours: Lsn) {
    let _one_at_a_time = SNAPSHOT_WRITES.lock();
    let newer_on_disk = config.get_snapshot_files().map_or(false, |files| {
        files.iter().any(|path| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let lsn = name.as_deref().and_then(|n| n.strip_prefix("snap.")).and_then(
                |hex| {
                    (hex.len() == 16)
                        .then(|| Lsn::from_str_radix(hex, 16).ok())
                        .flatten()
                },
            );
            lsn.map_or(false, |lsn| lsn >= ours)
        })
    });
    if newer_on_disk {
        return;
    }
    if let Err(e) = write_snapshot_bytes(config, raw_bytes, ours) {
        warn!("failed to write a snapshot, the next open reads a longer log: {}", e);
        let mut partial = config.get_path();
        partial.push(format!("snap.{:016X}.generating", ours));
        let _ = std::fs::remove_file(partial);
    }
}

/// Read a `Snapshot` from disk.
/// Returns an error if the read snapshot was corrupted.
/// Returns `Ok(Some(snapshot))` if there was nothing written.
fn read_snapshot(config: &RunningConfig) -> Result<Option<Snapshot>> {
    read_snapshot_files(config, true)
}

/// `read_snapshot`; `remove_partial`: whether to remove unfinished snapshots (an open,
/// holding the lock) or only pass them over (the audit's dry run, beside a writer).
fn read_snapshot_files(
    config: &RunningConfig,
    remove_partial: bool,
) -> Result<Option<Snapshot>> {
    let mut candidates = config.get_snapshot_files()?;
    // OnePoint: a `.generating` file is a snapshot cut off midway (a kill or a full
    // disk while it was written, `SnapshotWriter`). This open holds the file lock, which
    // every writer holds while it writes (its `RunningConfig`): none is left, so the
    // file is removed. Upstream read it as the newest snapshot and failed on its crc.
    candidates.retain(|path| {
        let partial = path.to_string_lossy().ends_with(".generating");
        if partial && remove_partial {
            let _ = std::fs::remove_file(path);
        }
        !partial
    });
    if candidates.is_empty() {
        debug!("no previous snapshot found");
        return Ok(None);
    }

    candidates.sort();
    let path = candidates.pop().unwrap();

    let mut f = std::fs::OpenOptions::new().read(true).open(&path)?;

    let mut buf = vec![];
    let _read = f.read_to_end(&mut buf)?;
    let len = buf.len();
    if len <= 12 {
        warn!("empty/corrupt snapshot file found");
        return Err(Error::corruption(None));
    }

    let mut len_expected_bytes = [0; 8];
    len_expected_bytes.copy_from_slice(&buf[len - 12..len - 4]);

    let mut crc_expected_bytes = [0; 4];
    crc_expected_bytes.copy_from_slice(&buf[len - 4..]);

    let _ = buf.split_off(len - 12);
    let crc_expected: u32 = arr_to_u32(&crc_expected_bytes);

    let crc_actual = crc32(&buf);

    if crc_expected != crc_actual {
        warn!("corrupt snapshot file found, crc does not match expected");
        return Err(Error::corruption(None));
    }

    #[cfg(feature = "zstd")]
    let bytes = if config.use_compression {
        use std::convert::TryInto;

        let len_expected: u64 =
            u64::from_le_bytes(len_expected_bytes.as_ref().try_into().unwrap());

        decompress(&*buf, usize::try_from(len_expected).unwrap()).unwrap()
    } else {
        buf
    };

    #[cfg(not(feature = "zstd"))]
    let bytes = buf;

    // OnePoint: the page states are kept as read (`PageStates`).
    Snapshot::from_bytes(bytes).map(Some)
}

fn write_snapshot(config: &RunningConfig, snapshot: &Snapshot) -> Result<()> {
    trace!("writing snapshot {:?}", snapshot);

    write_snapshot_bytes(
        config,
        snapshot.serialize(),
        snapshot.stable_lsn.unwrap_or(0),
    )
}

/// OnePoint: `write_snapshot` of a snapshot already serialized, at `stable_lsn`.
fn write_snapshot_bytes(
    config: &RunningConfig,
    raw_bytes: Vec<u8>,
    stable_lsn: Lsn,
) -> Result<()> {
    let decompressed_len = raw_bytes.len();

    #[cfg(feature = "zstd")]
    let bytes = if config.use_compression {
        compress(&*raw_bytes, config.compression_factor).unwrap()
    } else {
        raw_bytes
    };

    #[cfg(not(feature = "zstd"))]
    let bytes = raw_bytes;

    let crc32: [u8; 4] = u32_to_arr(crc32(&bytes));
    let len_bytes: [u8; 8] = u64_to_arr(decompressed_len as u64);

    let path_1_suffix =
        format!("snap.{:016X}.generating", stable_lsn);

    let mut path_1 = config.get_path();
    path_1.push(path_1_suffix);

    let path_2_suffix =
        format!("snap.{:016X}", stable_lsn);

    let mut path_2 = config.get_path();
    path_2.push(path_2_suffix);

    let parent = path_1.parent().unwrap();
    std::fs::create_dir_all(parent)?;
    let mut f =
        std::fs::OpenOptions::new().write(true).create(true).open(&path_1)?;

    // write the snapshot bytes, followed by a crc64 checksum at the end
    io_fail!(config, "snap write");
    f.write_all(&*bytes)?;
    io_fail!(config, "snap write len");
    f.write_all(&len_bytes)?;
    io_fail!(config, "snap write crc");
    f.write_all(&crc32)?;
    io_fail!(config, "snap write post");
    f.sync_all()?;

    trace!("wrote snapshot to {}", path_1.to_string_lossy());

    io_fail!(config, "snap write mv");
    std::fs::rename(&path_1, &path_2)?;
    io_fail!(config, "snap write mv post");

    trace!("renamed snapshot to {}", path_2.to_string_lossy());

    // clean up any old snapshots
    let candidates = config.get_snapshot_files()?;
    for path in candidates {
        let path_str = path.file_name().unwrap().to_str().unwrap();
        if !path_2.to_string_lossy().ends_with(&*path_str) {
            debug!("removing old snapshot file {:?}", path);

            io_fail!(config, "snap write rm old");

            if let Err(e) = std::fs::remove_file(&path) {
                // TODO should this just be a try return?
                warn!(
                    "failed to remove old snapshot file, maybe snapshot race? {}",
                    e
                );
            }
        }
    }
    Ok(())
}
