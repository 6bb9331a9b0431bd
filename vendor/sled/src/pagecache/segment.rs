//! The `SegmentAccountant` is an allocator for equally-
//! sized chunks of the underlying storage file (segments).
//!
//! It must maintain these critical safety properties:
//!
//! A. We must not overwrite existing segments when they
//!    contain the most-recent stable state for a page.
//! B. We must not overwrite existing segments when active
//!    threads may have references to `LogOffset`'s that point
//!    into those segments.
//!
//! To complicate matters, the `PageCache` only knows
//! when it has put a page into an IO buffer, but it
//! doesn't keep track of when that IO buffer is
//! stabilized (until write coalescing is implemented).
//!
//! To address these safety concerns, we rely on
//! these techniques:
//!
//! 1. We delay the reuse of any existing segment
//!    by ensuring that we never deactivate a
//!    segment until all data written into it, as
//!    well as all data written to earlier segments,
//!    has been written to disk and fsynced.
//! 2. we use a `epoch::Guard::defer()` from
//!    `IoBufs::write_to_log` that guarantees
//!    that we defer all segment deactivation
//!    until all threads are finished that
//!    may have witnessed pointers into a segment
//!    that will be marked for reuse in the future.
//!
//! Another concern that arises due to the fact that
//! IO buffers may be written out-of-order is the
//! correct recovery of segments. If there is data
//! loss in recently written segments, we must be
//! careful to preserve linearizability in the log.
//! To do this, we must detect "torn segments" that
//! were not able to be fully written before a crash
//! happened.
//!
//! But what if we wrote a later segment before we
//! were able to write its immediate predecessor segment,
//! and then a crash happened? We must preserve
//! linearizability, so we must not recover the later
//! segment when its predecessor was lost in the crash.
//!
//! 3. This case is solved again by having a concept of
//!    an "unstable tail" of segments that, during recovery,
//!    must appear consecutively among the recovered
//!    segments with the highest LSN numbers. We
//!    prevent reuse of segments while they remain in
//!    this "unstable tail" by only allowing them to be
//!    reallocated after another later segment has written
//!    a "stable consecutive lsn" into its own header
//!    that is higher than ours.

#![allow(unused_results)]

use std::{collections::BTreeSet, mem};

use super::PageState;

use crate::pagecache::*;
use crate::*;

/// A operation that can be applied asynchronously.
#[derive(Debug, Clone)]
pub(crate) enum SegmentOp {
    Link {
        pid: PageId,
        cache_info: CacheInfo,
    },
    Replace {
        pid: PageId,
        lsn: Lsn,
        old_cache_infos: Vec<CacheInfo>,
        new_cache_info: CacheInfo,
    },
}

/// The segment accountant keeps track of the logical blocks
/// of storage. It scans through all segments quickly during
/// recovery and attempts to locate torn segments.
#[derive(Debug)]
pub(crate) struct SegmentAccountant {
    // static or one-time set
    config: RunningConfig,

    // TODO these should be sharded to improve performance
    segments: Vec<Segment>,

    // TODO put behind a single mutex
    free: BTreeSet<LogOffset>,
    tip: LogOffset,
    max_stabilized_lsn: Lsn,
    segment_cleaner: SegmentCleaner,
    ordering: BTreeMap<Lsn, LogOffset>,
    async_truncations: BTreeMap<LogOffset, OneShot<Result<()>>>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct SegmentCleaner {
    inner: Arc<Mutex<BTreeMap<LogOffset, BTreeSet<PageId>>>>,
    /// OnePoint: the pages taken off the queue and not yet moved (`pop` to `done`), by
    /// segment and page, with how many takers: still to be moved, for the audit (a
    /// cleaner thread runs at idle priority and can wait long between the two).
    moving: Arc<Mutex<BTreeMap<(LogOffset, PageId), usize>>>,
}

impl SegmentCleaner {
    /// Takes a page to move out of a segment being cleaned; the caller calls `done`
    /// once it has tried.
    pub(crate) fn pop(&self) -> Option<(PageId, LogOffset)> {
        let mut inner = self.inner.lock();
        let offset = {
            let (offset, pids) = inner.iter_mut().next()?;
            if !pids.is_empty() {
                let pid = pids.iter().next().copied().unwrap();
                pids.remove(&pid);
                *self.moving.lock().entry((*offset, pid)).or_insert(0) += 1;
                return Some((pid, *offset));
            }
            *offset
        };
        inner.remove(&offset);
        None
    }

    /// OnePoint: the page `pop` gave is moved (or needed no move, or the move failed).
    pub(crate) fn done(&self, pid: PageId, offset: LogOffset) {
        let mut moving = self.moving.lock();
        if let Some(takers) = moving.get_mut(&(offset, pid)) {
            *takers -= 1;
            if *takers == 0 {
                moving.remove(&(offset, pid));
            }
        }
    }

    /// OnePoint: every page queued or being moved, by segment (for the audit).
    fn queued_or_moving(&self) -> BTreeMap<LogOffset, BTreeSet<PageId>> {
        let mut all = self.inner.lock().clone();
        for (offset, pid) in self.moving.lock().keys() {
            all.entry(*offset).or_default().insert(*pid);
        }
        all
    }

    /// OnePoint: how many pages wait to be moved out of segments queued for cleaning.
    pub(crate) fn backlog(&self) -> usize {
        self.inner.lock().values().map(BTreeSet::len).sum()
    }

    /// OnePoint: whether no page waits to be moved (`backlog` is 0), stopping at the
    /// first segment with one.
    fn is_idle(&self) -> bool {
        self.inner.lock().values().all(BTreeSet::is_empty)
    }

    fn add_pids(&self, offset: LogOffset, pids: BTreeSet<PageId>) {
        let mut inner = self.inner.lock();
        let prev = inner.insert(offset, pids);
        assert!(prev.is_none());
    }

    fn remove_pids(&self, offset: LogOffset) {
        let mut inner = self.inner.lock();
        inner.remove(&offset);
    }
}

impl Drop for SegmentAccountant {
    fn drop(&mut self) {
        for segment in &self.segments {
            let segment_utilization = match segment {
                Segment::Free(_) | Segment::Draining(_) => 0,
                Segment::Active(Active { rss, .. })
                | Segment::Inactive(Inactive { rss, .. }) => *rss,
            };
            M.segment_utilization_shutdown.measure(segment_utilization as u64);
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Free {
    previous_lsn: Option<Lsn>,
}

#[derive(Debug, Clone, Default)]
struct Active {
    lsn: Lsn,
    rss: usize,
    deferred_replaced_rss: usize,
    deferred_replaced_pids: BTreeSet<PageId>,
    pids: BTreeSet<PageId>,
    latest_replacement_lsn: Lsn,
    can_free_upon_deactivation: FastSet8<Lsn>,
    deferred_rm_blob: FastSet8<BlobPointer>,
}

#[derive(Debug, Clone, Default)]
struct Inactive {
    lsn: Lsn,
    rss: usize,
    pids: BTreeSet<PageId>,
    max_pids: usize,
    replaced_pids: usize,
    latest_replacement_lsn: Lsn,
}

#[derive(Debug, Clone, Default)]
struct Draining {
    lsn: Lsn,
    max_pids: usize,
    replaced_pids: usize,
    latest_replacement_lsn: Lsn,
}

/// A `Segment` holds the bookkeeping information for
/// a contiguous block of the disk. It may contain many
/// fragments from different pages. Over time, we track
/// when segments become reusable and allow them to be
/// overwritten for new data.
#[derive(Clone, Debug)]
enum Segment {
    /// the segment is marked for reuse, should never receive
    /// new pids,
    Free(Free),

    /// the segment is being written to or actively recovered, and
    /// will have pages assigned to it
    Active(Active),

    /// the segment is no longer being written to or recovered, and
    /// will have pages marked as relocated from it
    Inactive(Inactive),

    /// the segment is having its resident pages relocated before
    /// becoming free
    Draining(Draining),
}

impl Default for Segment {
    fn default() -> Self {
        Segment::Free(Free { previous_lsn: None })
    }
}

impl Segment {
    fn is_free(&self) -> bool {
        if let Segment::Free(_) = self {
            true
        } else {
            false
        }
    }

    fn is_active(&self) -> bool {
        if let Segment::Active { .. } = self {
            true
        } else {
            false
        }
    }

    fn is_inactive(&self) -> bool {
        if let Segment::Inactive { .. } = self {
            true
        } else {
            false
        }
    }

    fn free_to_active(&mut self, new_lsn: Lsn) {
        trace!("setting Segment to Active with new lsn {:?}", new_lsn,);
        assert!(self.is_free());

        *self = Segment::Active(Active {
            lsn: new_lsn,
            rss: 0,
            deferred_replaced_rss: 0,
            deferred_replaced_pids: BTreeSet::default(),
            pids: BTreeSet::default(),
            latest_replacement_lsn: 0,
            can_free_upon_deactivation: FastSet8::default(),
            deferred_rm_blob: FastSet8::default(),
        })
    }

    /// Transitions a segment to being in the `Inactive` state.
    /// Returns the set of page replacements that happened
    /// while this Segment was Active
    fn active_to_inactive(
        &mut self,
        lsn: Lsn,
        config: &Config,
    ) -> Result<FastSet8<Lsn>> {
        trace!("setting Segment with lsn {:?} to Inactive", self.lsn());

        let (inactive, ret) = if let Segment::Active(active) = self {
            assert!(lsn >= active.lsn);

            // now we can push any deferred blob removals to the removed set
            for ptr in &active.deferred_rm_blob {
                trace!(
                    "removing blob {} while transitioning \
                     segment lsn {:?} to Inactive",
                    ptr,
                    active.lsn,
                );
                remove_blob(*ptr, config)?;
            }

            let inactive = Segment::Inactive(Inactive {
                lsn: active.lsn,
                rss: active
                    .rss
                    .checked_sub(active.deferred_replaced_rss)
                    .unwrap(),
                max_pids: active.pids.len(),
                replaced_pids: active.deferred_replaced_pids.len(),
                // OnePoint: the set is moved when nothing was replaced (every
                // segment read back at open), not copied and dropped.
                pids: if active.deferred_replaced_pids.is_empty() {
                    mem::take(&mut active.pids)
                } else {
                    &active.pids - &active.deferred_replaced_pids
                },
                latest_replacement_lsn: active.latest_replacement_lsn,
            });

            let can_free = mem::replace(
                &mut active.can_free_upon_deactivation,
                Default::default(),
            );

            (inactive, can_free)
        } else {
            panic!("called active_to_inactive on {:?}", self);
        };

        *self = inactive;
        Ok(ret)
    }

    fn inactive_to_draining(&mut self, lsn: Lsn) -> BTreeSet<PageId> {
        trace!("setting Segment with lsn {:?} to Draining", self.lsn());

        if let Segment::Inactive(inactive) = self {
            assert!(lsn >= inactive.lsn);
            let ret = mem::replace(&mut inactive.pids, Default::default());
            *self = Segment::Draining(Draining {
                lsn: inactive.lsn,
                max_pids: inactive.max_pids,
                replaced_pids: inactive.replaced_pids,
                latest_replacement_lsn: inactive.latest_replacement_lsn,
            });
            ret
        } else {
            panic!("called inactive_to_draining on {:?}", self);
        }
    }

    fn defer_free_lsn(&mut self, lsn: Lsn) {
        if let Segment::Active(active) = self {
            active.can_free_upon_deactivation.insert(lsn);
        } else {
            panic!("called defer_free_lsn on segment {:?}", self);
        }
    }

    fn draining_to_free(&mut self, lsn: Lsn) -> Lsn {
        trace!("setting Segment with lsn {:?} to Free", self.lsn());

        if let Segment::Draining(draining) = self {
            let old_lsn = draining.lsn;
            assert!(lsn >= old_lsn);
            let replacement_lsn = draining.latest_replacement_lsn;
            *self = Segment::Free(Free { previous_lsn: Some(old_lsn) });
            replacement_lsn
        } else {
            panic!("called draining_to_free on {:?}", self);
        }
    }

    fn recovery_ensure_initialized(&mut self, lsn: Lsn) {
        if self.is_free() {
            trace!("(snapshot) recovering segment with base lsn {}", lsn);
            self.free_to_active(lsn);
        }
    }

    fn lsn(&self) -> Lsn {
        match self {
            Segment::Active(Active { lsn, .. })
            | Segment::Inactive(Inactive { lsn, .. })
            | Segment::Draining(Draining { lsn, .. }) => *lsn,
            Segment::Free(_) => panic!("called lsn on Segment::Free"),
        }
    }

    /// Counts a piece of `size` bytes written to the segment, whose LSN the
    /// caller must provide. OnePoint: split out of `insert_pid` so recovery
    /// can count pieces and set the pages once (`recovery_set_pids`).
    fn add_size(&mut self, lsn: Lsn, size: usize) -> &mut Active {
        // if this breaks, maybe we didn't implement the transition
        // logic right in write_to_log, and maybe a thread is
        // using the SA to add pids AFTER their calls to
        // res.complete() worked.
        match self {
            Segment::Active(active) => {
                assert_eq!(
                    lsn, active.lsn,
                    "add_size specified lsn {} in segment {:?}",
                    lsn, active
                );
                active.rss += size;
                active
            }
            other => panic!("called add_size on {:?}", other),
        }
    }

    /// OnePoint: at recovery, the segment's pages, ascending and distinct:
    /// one build of the set instead of one insert each.
    fn recovery_set_pids(&mut self, pids: Vec<PageId>) {
        if let Segment::Active(active) = self {
            debug_assert!(pids.windows(2).all(|w| w[0] < w[1]));
            active.pids = pids.into_iter().collect();
        } else {
            panic!("called recovery_set_pids on {:?}", self);
        }
    }

    /// Add a pid to the Segment. The caller must provide
    /// the Segment's LSN.
    fn insert_pid(&mut self, pid: PageId, lsn: Lsn, size: usize) {
        self.add_size(lsn, size).pids.insert(pid);
    }

    fn remove_pid(&mut self, pid: PageId, replacement_lsn: Lsn, sz: usize) {
        trace!(
            "removing pid {} at lsn {} from segment {:?}",
            pid,
            replacement_lsn,
            self
        );
        match self {
            Segment::Active(active) => {
                assert!(active.lsn <= replacement_lsn);
                if replacement_lsn != active.lsn {
                    active.deferred_replaced_pids.insert(pid);
                }
                active.deferred_replaced_rss += sz;
                if replacement_lsn > active.latest_replacement_lsn {
                    active.latest_replacement_lsn = replacement_lsn;
                }
            }
            Segment::Inactive(Inactive {
                pids,
                lsn,
                rss,
                latest_replacement_lsn,
                replaced_pids,
                ..
            }) => {
                assert!(*lsn <= replacement_lsn);
                if replacement_lsn != *lsn {
                    pids.remove(&pid);
                    *replaced_pids += 1;
                }
                *rss = rss.checked_sub(sz).unwrap();
                if replacement_lsn > *latest_replacement_lsn {
                    *latest_replacement_lsn = replacement_lsn;
                }
            }
            Segment::Draining(Draining {
                lsn,
                latest_replacement_lsn,
                replaced_pids,
                ..
            }) => {
                assert!(*lsn <= replacement_lsn);
                if replacement_lsn != *lsn {
                    *replaced_pids += 1;
                }
                if replacement_lsn > *latest_replacement_lsn {
                    *latest_replacement_lsn = replacement_lsn;
                }
            }
            Segment::Free(_) => {
                panic!("called remove pid {} on Segment::Free", pid)
            }
        }
    }

    fn remove_blob(
        &mut self,
        blob_ptr: BlobPointer,
        config: &Config,
    ) -> Result<()> {
        match self {
            Segment::Active(active) => {
                // we have received a removal before
                // transferring this segment to Inactive, so
                // we defer this pid's removal until the transfer.
                active.deferred_rm_blob.insert(blob_ptr);
            }
            Segment::Inactive(_) | Segment::Draining(_) => {
                trace!(
                    "directly removing blob {} that was referred-to \
                     in a segment that has already been marked as Inactive \
                     or Draining.",
                    blob_ptr,
                );
                remove_blob(blob_ptr, config)?;
            }
            Segment::Free(_) => panic!("remove_blob called on a Free Segment"),
        }

        Ok(())
    }

    fn can_free(&self) -> bool {
        if let Segment::Draining(draining) = self {
            draining.replaced_pids == draining.max_pids
        } else {
            false
        }
    }
}

/// OnePoint: a segment as the audit (`PageCache::audit`, `OP_SLED_AUDIT`) sees it:
/// what the accountant holds against each page with a piece in the segment.
#[derive(Debug)]
pub(crate) enum AuditSegment {
    Free,
    Active { lsn: Lsn, pids: BTreeSet<PageId>, replaced: BTreeSet<PageId> },
    Inactive { lsn: Lsn, pids: BTreeSet<PageId> },
    Draining { lsn: Lsn, left: usize, queued: BTreeSet<PageId> },
}

impl AuditSegment {
    /// The segment in a few words, for the audit's report.
    pub(crate) fn describe(&self) -> String {
        match self {
            AuditSegment::Free => "free".to_string(),
            AuditSegment::Active { lsn, pids, .. } => {
                format!("active lsn {} pages {}", lsn, pids.len())
            }
            AuditSegment::Inactive { lsn, pids } => {
                format!("inactive lsn {} pages {}", lsn, pids.len())
            }
            AuditSegment::Draining { lsn, left, queued } => format!(
                "draining lsn {} left {} queued {}",
                lsn,
                left,
                queued.len()
            ),
        }
    }

    /// What is wrong, to the accountant, with page `pid` keeping a piece written at
    /// `lsn` (normalized to its segment's) in this segment.
    pub(crate) fn problem(&self, pid: PageId, lsn: Lsn) -> Option<&'static str> {
        match self {
            AuditSegment::Free => Some("the segment is free"),
            AuditSegment::Active { lsn: l, .. }
            | AuditSegment::Inactive { lsn: l, .. }
            | AuditSegment::Draining { lsn: l, .. }
                if *l != lsn =>
            {
                Some("the segment was reused")
            }
            AuditSegment::Active { pids, replaced, .. } => {
                if !pids.contains(&pid) {
                    Some("the active segment does not count the page")
                } else if replaced.contains(&pid) {
                    Some("the active segment counts the page as replaced")
                } else {
                    None
                }
            }
            AuditSegment::Inactive { pids, .. } if !pids.contains(&pid) => {
                Some("the inactive segment does not count the page")
            }
            AuditSegment::Draining { left: 0, .. } => {
                Some("the draining segment counts no page left")
            }
            AuditSegment::Draining { queued, .. } if !queued.contains(&pid) => {
                Some("the draining segment's cleaner queue lacks the page")
            }
            _ => None,
        }
    }
}

impl SegmentAccountant {
    /// OnePoint: a `SegmentAccountant` that knows no segment yet, to be filled by
    /// `recover` before it is used (sled's `start` did both at once; `IoBufs::start`
    /// has `recover` run on a thread of its own, holding the accountant's lock).
    pub(super) fn new(
        config: RunningConfig,
        segment_cleaner: SegmentCleaner,
    ) -> Self {
        Self {
            config,
            segments: vec![],
            free: BTreeSet::default(),
            tip: 0,
            max_stabilized_lsn: -1,
            segment_cleaner,
            ordering: BTreeMap::default(),
            async_truncations: BTreeMap::default(),
        }
    }

    /// Fills a new `SegmentAccountant` from previously recovered segments.
    pub(super) fn recover(&mut self, snapshot: &Snapshot) -> Result<()> {
        let _measure = Measure::new(&M.start_segment_accountant);

        self.initialize_from_snapshot(snapshot)?;

        if let Some(max_free) = self.free.iter().max() {
            assert!(
                self.tip > *max_free,
                "expected recovered tip {} to \
                be above max item in recovered \
                free list {:?}",
                self.tip,
                self.free
            );
        }

        debug!(
            "SA starting with tip {} stable {} free {:?}",
            self.tip, self.max_stabilized_lsn, self.free,
        );

        Ok(())
    }

    /// OnePoint: how many segments recovery knows: those of the file, and the
    /// snapshot's active one past its end if it is the next (still empty but for its
    /// header); an active segment further out is corruption. Used by `initial_segments`
    /// and `check_snapshot`.
    fn recovered_segment_count(
        config: &RunningConfig,
        snapshot: &Snapshot,
    ) -> Result<usize> {
        let segment_size = config.segment_size as u64;
        let file_len = config.file.metadata()?.len();
        let mut segments = usize::try_from(
            file_len / segment_size
                + if file_len % segment_size == 0 { 0 } else { 1 },
        )
        .unwrap();
        if let Some(tip_lid) = snapshot.active_segment {
            let tip_idx = usize::try_from(tip_lid / segment_size).unwrap();
            if tip_idx == segments {
                segments += 1;
            }
            if tip_idx >= segments {
                error!("failed to properly initialize segments, suspected disk corruption");
                return Err(Error::corruption(None));
            }
        }
        Ok(segments)
    }

    /// OnePoint: what `recover` would find wrong before it writes anything, checked
    /// at open before `recover` is left to a thread of its own: the snapshot's active
    /// segment, or a piece of a page, beyond the file's segments (sled failed on the
    /// first and panicked on the second, a file cut short).
    pub(super) fn check_snapshot(
        config: &RunningConfig,
        snapshot: &Snapshot,
    ) -> Result<()> {
        let segments = Self::recovered_segment_count(config, snapshot)? as u64;
        let segment_size = config.segment_size as u64;
        let end = segments * segment_size;
        if snapshot.pt.beyond(end) {
            error!("a page of the snapshot lies beyond the log's end, suspected disk corruption");
            return Err(Error::corruption(None));
        }
        Ok(())
    }

    /// OnePoint: the bytes of the log's segments in use and an estimate of the live
    /// bytes in them, for the store's reclaimer (their ratio is the log's space
    /// amplification). A segment being cleaned counts its pages not yet moved out at the
    /// mean size of the pages of the others.
    pub(crate) fn used_and_live(&self) -> (u64, u64) {
        let seg = self.config.segment_size as u64;
        let (mut used, mut live, mut pages, mut draining) = (0u64, 0u64, 0u64, 0u64);
        for s in &self.segments {
            match s {
                Segment::Free(_) => {}
                Segment::Active(a) => {
                    used += seg;
                    live += a.rss.saturating_sub(a.deferred_replaced_rss) as u64;
                    pages += a.pids.len() as u64;
                }
                Segment::Inactive(i) => {
                    used += seg;
                    live += i.rss as u64;
                    pages += i.pids.len() as u64;
                }
                Segment::Draining(d) => {
                    used += seg;
                    draining += d.max_pids.saturating_sub(d.replaced_pids) as u64;
                }
            }
        }
        if pages > 0 {
            live += draining * live / pages;
        }
        (used, live)
    }

    /// OnePoint: how many segments are in each state, with the inactive ones by how
    /// much of them is live (a tenth of the segment per bucket, `live_0`..`live_9`) and
    /// the pages the draining ones still hold (`draining_left`): where the log's space
    /// goes, for the benchmark.
    pub(crate) fn segment_states(&self) -> Vec<(&'static str, u64)> {
        const LIVE: [&str; 10] = [
            "live_0", "live_1", "live_2", "live_3", "live_4", "live_5", "live_6",
            "live_7", "live_8", "live_9",
        ];
        let seg = self.config.segment_size;
        let (mut free, mut active, mut inactive, mut draining, mut left) =
            (0u64, 0u64, 0u64, 0u64, 0u64);
        let mut live = [0u64; 10];
        for s in &self.segments {
            match s {
                Segment::Free(_) => free += 1,
                Segment::Active(_) => active += 1,
                Segment::Inactive(i) => {
                    inactive += 1;
                    live[(i.rss * 10 / seg).min(9)] += 1;
                }
                Segment::Draining(d) => {
                    draining += 1;
                    left += d.max_pids.saturating_sub(d.replaced_pids) as u64;
                }
            }
        }
        let mut out = vec![
            ("free", free),
            ("active", active),
            ("inactive", inactive),
            ("draining", draining),
            ("draining_left", left),
        ];
        out.extend(LIVE.iter().zip(live).map(|(k, n)| (*k, n)));
        out
    }

    /// OnePoint: every segment as the audit sees it (`AuditSegment`).
    pub(crate) fn audit_view(&self) -> Vec<AuditSegment> {
        let queued = self.segment_cleaner.queued_or_moving();
        let segment_size = self.config.segment_size as LogOffset;
        self.segments
            .iter()
            .enumerate()
            .map(|(idx, s)| match s {
                Segment::Free(_) => AuditSegment::Free,
                Segment::Active(a) => AuditSegment::Active {
                    lsn: a.lsn,
                    pids: a.pids.clone(),
                    replaced: a.deferred_replaced_pids.clone(),
                },
                Segment::Inactive(i) => {
                    AuditSegment::Inactive { lsn: i.lsn, pids: i.pids.clone() }
                }
                Segment::Draining(d) => AuditSegment::Draining {
                    lsn: d.lsn,
                    left: d.max_pids.saturating_sub(d.replaced_pids),
                    queued: queued
                        .get(&(idx as LogOffset * segment_size))
                        .cloned()
                        .unwrap_or_default(),
                },
            })
            .collect()
    }

    fn initial_segments(&self, snapshot: &Snapshot) -> Result<Vec<Segment>> {
        let segment_size = self.config.segment_size;

        // generate segments from snapshot lids (sometimes the current segment is
        // still empty, after only recovering the segment header but no valid
        // messages yet: `recovered_segment_count` counts it)
        let mut segments = vec![
            Segment::default();
            Self::recovered_segment_count(&self.config, snapshot)?
        ];

        if let Some(tip_lid) = snapshot.active_segment {
            let tip_idx =
                usize::try_from(tip_lid / segment_size as LogOffset).unwrap();
            trace!(
                "setting segment for tip_lid {} to stable_lsn {}",
                tip_lid,
                self.config.normalize(snapshot.stable_lsn.unwrap_or(0))
            );
            segments[tip_idx].recovery_ensure_initialized(
                self.config.normalize(snapshot.stable_lsn.unwrap_or(0)),
            );
        }

        // OnePoint: the pages of each segment are gathered in order (the
        // snapshot is read by page id) and each segment's set is built once
        // from its sorted list, instead of one insert per fragment.
        let mut pids_of: Vec<Vec<PageId>> = vec![vec![]; segments.len()];
        let mut add = |pid, lsn: Lsn, sz, lid: LogOffset| {
            let idx = assert_usize(lid / segment_size as LogOffset);
            trace!(
                "adding lsn: {} lid: {} sz: {} for \
                 pid {} to segment {} during SA recovery",
                lsn,
                lid,
                sz,
                pid,
                idx
            );
            let segment_lsn = self.config.normalize(lsn);
            segments[idx].recovery_ensure_initialized(segment_lsn);
            segments[idx].add_size(segment_lsn, usize::try_from(sz).unwrap());
            let pids = &mut pids_of[idx];
            if pids.last() != Some(&pid) {
                pids.push(pid);
            }
        };

        for (pid, state) in snapshot.pt.iter().enumerate() {
            match &*state {
                PageState::Present { base, frags } => {
                    add(pid as PageId, base.0, base.2, base.1.lid());
                    for (lsn, ptr, sz) in frags {
                        add(pid as PageId, *lsn, *sz, ptr.lid());
                    }
                }
                PageState::Free(lsn, ptr) => {
                    add(
                        pid as PageId,
                        *lsn,
                        u64::try_from(MAX_MSG_HEADER_LEN).unwrap(),
                        ptr.lid(),
                    );
                }
                _ => panic!("tried to recover pagestate from a {:?}", state),
            }
        }

        for (segment, pids) in segments.iter_mut().zip(pids_of) {
            if !pids.is_empty() {
                segment.recovery_set_pids(pids);
            }
        }

        Ok(segments)
    }

    fn initialize_from_snapshot(&mut self, snapshot: &Snapshot) -> Result<()> {
        let segment_size = self.config.segment_size;
        let segments = self.initial_segments(snapshot)?;

        self.segments = segments;

        let mut to_free = vec![];
        let mut maybe_clean = vec![];

        let currently_active_segment = snapshot
            .active_segment
            .map(|tl| usize::try_from(tl / segment_size as LogOffset).unwrap());

        for (idx, segment) in self.segments.iter_mut().enumerate() {
            let segment_base = idx as LogOffset * segment_size as LogOffset;

            if segment_base >= self.tip {
                // set tip above the beginning of any
                self.tip = segment_base + segment_size as LogOffset;
                trace!(
                    "raised self.tip to {} during SA initialization",
                    self.tip
                );
            }

            if segment.is_free() {
                // this segment was not used in the recovered
                // snapshot, so we can assume it is free
                to_free.push(segment_base);
                continue;
            }

            let segment_lsn = segment.lsn();

            if let Some(tip_idx) = currently_active_segment {
                if tip_idx != idx {
                    maybe_clean.push((idx, segment_lsn));
                }
            }
        }

        // OnePoint: only the header of a free segment is overwritten (upstream wrote
        // the whole segment): recovery reads only segments whose header is valid
        // (`scan_segment_headers_and_tail`), and a message left from a segment's
        // earlier life is refused by its segment number, as after any reuse while
        // the store is open (`read_message`). A store keeps many free segments now
        // (item 34): at 20M deals about 7,400 of 13,800, 3.8 GB written at every
        // open, most of an open after a kill. The headers were read moments ago, so
        // these writes find their pages in the page cache.
        let invalid_header = [MessageKind::Corrupted.into(); SEG_HEADER_LEN];
        for segment_base in to_free {
            self.free_segment(segment_base)?;
            io_fail!(self.config, "zero garbage segment SA");
            pwrite_all(&self.config.file, &invalid_header, segment_base)?;
        }

        // we want to complete all truncations because
        // they could cause calls to `next` to block.
        for (_, promise) in self.async_truncations.split_off(&0) {
            promise.wait().expect("threadpool should not crash")?;
        }

        for (idx, segment_lsn) in maybe_clean {
            self.possibly_clean_or_free_segment(idx, segment_lsn)?;
        }

        trace!("initialized self.segments to {:?}", self.segments);

        self.ordering = self
            .segments
            .iter()
            .enumerate()
            .filter_map(|(id, s)| {
                if s.is_free() {
                    None
                } else {
                    Some((s.lsn(), id as LogOffset * segment_size as LogOffset))
                }
            })
            .collect();

        trace!("initialized self.ordering to {:?}", self.ordering);

        Ok(())
    }

    fn free_segment(&mut self, lid: LogOffset) -> Result<()> {
        debug!("freeing segment {}", lid);
        trace!("free list before free {:?}", self.free);
        self.segment_cleaner.remove_pids(lid);

        let idx = self.segment_id(lid);
        assert!(
            self.tip > lid,
            "freed a segment at {} above our current file tip {}, \
             please report this bug!",
            lid,
            self.tip,
        );
        assert!(self.segments[idx].is_free());
        assert!(!self.free.contains(&lid), "double-free of a segment occurred");

        self.free.insert(lid);

        // remove the old ordering from our list
        if let Segment::Free(Free { previous_lsn: Some(last_lsn) }) =
            self.segments[idx]
        {
            trace!(
                "removing segment {} with lsn {} from ordering",
                lid,
                last_lsn
            );
            self.ordering.remove(&last_lsn);
        }

        // we want to avoid aggressive truncation because it can cause
        // blocking if we allocate a segment that was just truncated.
        let laziness_factor = 1;

        // truncate if possible
        while self.tip != 0 && self.free.len() > laziness_factor {
            let last_segment = self.tip - self.config.segment_size as LogOffset;
            if self.free.contains(&last_segment) {
                self.free.remove(&last_segment);
                self.truncate(last_segment)?;
            } else {
                break;
            }
        }

        Ok(())
    }

    /// Asynchronously apply a GC-related operation. Used in a flat-combining
    /// style that allows callers to avoid blocking while sending these
    /// messages to this module.
    pub(super) fn apply_op(&mut self, op: &SegmentOp) -> Result<()> {
        use SegmentOp::*;
        match op {
            Link { pid, cache_info } => self.mark_link(*pid, *cache_info),
            Replace { pid, lsn, old_cache_infos, new_cache_info } => {
                self.mark_replace(*pid, *lsn, old_cache_infos, *new_cache_info)?
            }
        }
        Ok(())
    }

    /// Called by the `PageCache` when a page has been rewritten completely.
    /// We mark all of the old segments that contained the previous state
    /// from the page, and if the old segments are empty or clear enough to
    /// begin accelerated cleaning we mark them as so.
    pub(super) fn mark_replace(
        &mut self,
        pid: PageId,
        lsn: Lsn,
        old_cache_infos: &[CacheInfo],
        new_cache_info: CacheInfo,
    ) -> Result<()> {
        let _measure = Measure::new(&M.accountant_mark_replace);

        self.mark_link(pid, new_cache_info);

        trace!(
            "mark_replace pid {} from cache infos {:?} to cache info {:?} with lsn {}",
            pid,
            old_cache_infos,
            new_cache_info,
            self.config.normalize(lsn)
        );

        let new_idx = self.segment_id(new_cache_info.pointer.lid());

        // Do we need to schedule any blob cleanups?
        // Not if we just moved the pointer without changing
        // the underlying blob, as is the case with a single Blob
        // with nothing else.
        let schedule_rm_blob = !(old_cache_infos.len() == 1
            && old_cache_infos[0].pointer.is_blob());

        let mut removals = FastMap8::default();

        for old_cache_info in old_cache_infos {
            let old_ptr = &old_cache_info.pointer;
            let old_lid = old_ptr.lid();

            if schedule_rm_blob && old_ptr.is_blob() {
                trace!(
                    "queueing blob removal for {} in our own segment",
                    old_ptr
                );
                self.segments[new_idx]
                    .remove_blob(old_ptr.blob().1, &self.config)?;
            }

            let old_idx = self.segment_id(old_lid);
            let entry = removals.entry(old_idx).or_insert(0);
            *entry += old_cache_info.log_size;
        }

        for (old_idx, replaced_size) in removals {
            self.segments[old_idx].remove_pid(
                pid,
                self.config.normalize(lsn),
                usize::try_from(replaced_size).unwrap(),
            );
            self.possibly_clean_or_free_segment(old_idx, new_cache_info.lsn)?;
        }

        Ok(())
    }

    /// Called from `PageCache` when some state has been added
    /// to a logical page at a particular offset. We ensure the
    /// page is present in the segment's page set.
    pub(super) fn mark_link(&mut self, pid: PageId, cache_info: CacheInfo) {
        let _measure = Measure::new(&M.accountant_mark_link);

        trace!("mark_link pid {} at cache info {:?}", pid, cache_info);
        let idx = self.segment_id(cache_info.pointer.lid());

        let segment = &mut self.segments[idx];

        let segment_lsn = cache_info.lsn / self.config.segment_size as Lsn
            * self.config.segment_size as Lsn;

        // a race happened, and our Lsn does not apply anymore
        assert_eq!(
            segment.lsn(),
            segment_lsn,
            "segment somehow got reused by the time a link was \
             marked on it. expected lsn: {} actual: {}",
            segment_lsn,
            segment.lsn()
        );

        segment.insert_pid(
            pid,
            segment_lsn,
            usize::try_from(cache_info.log_size).unwrap(),
        );
    }

    fn possibly_clean_or_free_segment(
        &mut self,
        idx: usize,
        lsn: Lsn,
    ) -> Result<()> {
        let cleanup_threshold = SEGMENT_CLEANUP_THRESHOLD;

        let segment_start = (idx * self.config.segment_size) as LogOffset;

        if let Segment::Inactive(inactive) = &mut self.segments[idx] {
            let live_pct = inactive.rss * 100 / self.config.segment_size;

            let can_drain = live_pct <= cleanup_threshold;

            if can_drain {
                // can be cleaned
                trace!(
                    "SA inserting {} into to_clean from possibly_clean_or_free_segment",
                    segment_start
                );
                let to_clean = self.segments[idx].inactive_to_draining(lsn);
                self.segment_cleaner.add_pids(segment_start, to_clean);
            }
        }

        let segment_lsn = self.segments[idx].lsn();

        if self.segments[idx].can_free() {
            // can be reused immediately
            let replacement_lsn = self.segments[idx].draining_to_free(lsn);

            if self.ordering.contains_key(&replacement_lsn) {
                let replacement_lid = self.ordering[&replacement_lsn];
                let replacement_idx = usize::try_from(
                    replacement_lid / self.config.segment_size as u64,
                )
                .unwrap();

                if self.segments[replacement_idx].is_active() {
                    trace!(
                        "deferring free of segment {} in possibly_clean_or_free_segment",
                        segment_start
                    );
                    self.segments[replacement_idx].defer_free_lsn(segment_lsn);
                } else {
                    assert!(replacement_lsn <= self.max_stabilized_lsn);
                    self.free_segment(segment_start)?;
                }
            } else {
                // replacement segment has already been freed, so we can
                // go right to freeing this one too
                self.free_segment(segment_start)?;
            }
        }

        Ok(())
    }

    pub(super) fn stabilize(&mut self, stable_lsn: Lsn) -> Result<()> {
        let segment_size = self.config.segment_size as Lsn;
        let lsn = ((stable_lsn / segment_size) - 1) * segment_size;
        trace!(
            "stabilize({}), normalized: {}, last: {}",
            stable_lsn,
            lsn,
            self.max_stabilized_lsn
        );
        if self.max_stabilized_lsn >= lsn {
            trace!(
                "expected stabilization lsn {} \
                 to be greater than the previous value of {}",
                lsn,
                self.max_stabilized_lsn
            );
            return Ok(());
        }

        let bounds = (
            std::ops::Bound::Excluded(self.max_stabilized_lsn),
            std::ops::Bound::Included(lsn),
        );

        let can_deactivate = self
            .ordering
            .range(bounds)
            .map(|(lsn, _lid)| *lsn)
            .collect::<Vec<_>>();

        self.max_stabilized_lsn = lsn;

        for lsn in can_deactivate {
            self.deactivate_segment(lsn)?;
        }

        Ok(())
    }

    /// Called after the trailer of a segment has been written to disk,
    /// indicating that no more pids will be added to a segment. Moves
    /// the segment into the Inactive state.
    ///
    /// # Panics
    /// The provided lsn and lid must exactly match the existing segment.
    fn deactivate_segment(&mut self, lsn: Lsn) -> Result<()> {
        let lid = self.ordering[&lsn];
        let idx = self.segment_id(lid);

        trace!(
            "deactivating segment with lid {} lsn {}: {:?}",
            lid,
            lsn,
            self.segments[idx]
        );

        let freeable_segments = if self.segments[idx].is_active() {
            self.segments[idx].active_to_inactive(lsn, &self.config)?
        } else {
            Default::default()
        };

        for lsn in freeable_segments {
            let segment_start = self.ordering[&lsn];
            assert_ne!(segment_start, lid);
            self.free_segment(segment_start)?;
        }

        self.possibly_clean_or_free_segment(idx, lsn)?;

        // if we have a lot of free segments in our whole file,
        // let's start relocating the current tip to boil it down
        //
        // OnePoint: only while at least half the file's segments are free
        // (upstream counted only free against inactive ones, so once
        // segments drained faster than they were written it drained the
        // newest inactive segment at every deactivation, whatever it held:
        // after an open, whose first stabilization deactivates every
        // recovered segment at once, that queued the whole store for
        // cleaning), only a segment above the lowest free one (moving it
        // then shrinks the file), and one at a time, when the cleaner has
        // nothing else queued.
        if let Some(last_index) = self.boil_down_candidate() {
            let segment_start =
                (last_index * self.config.segment_size) as LogOffset;

            let to_clean = self.segments[last_index].inactive_to_draining(lsn);
            self.segment_cleaner.add_pids(segment_start, to_clean);
        }

        Ok(())
    }

    /// OnePoint: the inactive segment to drain to shrink the file, if any
    /// (`deactivate_segment`): the last inactive one, while at least half the
    /// file's segments are free, more than 5 are inactive, one free segment
    /// lies below it and no page waits for the cleaner.
    fn boil_down_candidate(&self) -> Option<usize> {
        // The cheap tests first: this runs at every deactivation, and the first
        // stabilization after an open deactivates every recovered segment (thousands;
        // counting the inactive ones at each was upstream's quadratic cost there).
        let in_file =
            usize::try_from(self.tip / self.config.segment_size as LogOffset)
                .unwrap();
        let half_free =
            self.free.len() * 100 >= SEGMENT_CLEANUP_THRESHOLD * in_file.max(1);
        if !half_free || !self.segment_cleaner.is_idle() {
            return None;
        }
        let inactive_segs =
            self.segments.iter().filter(|s| s.is_inactive()).count();
        if inactive_segs <= 5 {
            return None;
        }
        let last_index = self.segments.iter().rposition(Segment::is_inactive)?;
        let lowest_free = usize::try_from(
            *self.free.iter().next()? / self.config.segment_size as LogOffset,
        )
        .unwrap();
        (lowest_free < last_index).then_some(last_index)
    }

    fn bump_tip(&mut self) -> Result<LogOffset> {
        let lid = self.tip;

        let truncations = self.async_truncations.split_off(&lid);

        for (_at, truncation) in truncations {
            match truncation.wait().unwrap() {
                Ok(()) => {}
                Err(error) => {
                    error!("failed to shrink file: {:?}", error);
                    return Err(error);
                }
            }
        }

        self.tip += self.config.segment_size as LogOffset;

        trace!("advancing file tip from {} to {}", lid, self.tip);

        Ok(lid)
    }

    /// Returns the next offset to write a new segment in.
    pub(super) fn next(&mut self, lsn: Lsn) -> Result<LogOffset> {
        let _measure = Measure::new(&M.accountant_next);

        assert_eq!(
            lsn % self.config.segment_size as Lsn,
            0,
            "unaligned Lsn provided to next!"
        );

        trace!("evaluating free list {:?} in SA::next", &self.free);

        // pop free or add to end
        let safe = self.free.iter().next().copied();

        let lid = if let Some(next) = safe {
            self.free.remove(&next);
            next
        } else {
            self.bump_tip()?
        };

        // pin lsn to this segment
        let idx = self.segment_id(lid);

        self.segments[idx].free_to_active(lsn);

        self.ordering.insert(lsn, lid);

        debug!(
            "segment accountant returning offset: {} for lsn {} \
             on deck: {:?}",
            lid, lsn, self.free,
        );

        assert!(
            lsn >= Lsn::try_from(lid).unwrap(),
            "lsn {} should always be greater than or equal to lid {}",
            lsn,
            lid
        );

        Ok(lid)
    }

    /// Returns an iterator over a snapshot of current segment
    /// log sequence numbers and their corresponding file offsets.
    pub(super) fn segment_snapshot_iter_from(
        &mut self,
        lsn: Lsn,
    ) -> BTreeMap<Lsn, LogOffset> {
        assert!(
            !self.ordering.is_empty(),
            "expected ordering to have been initialized already"
        );

        let normalized_lsn = self.config.normalize(lsn);

        trace!(
            "generated iterator over {:?} where lsn >= {}",
            self.ordering,
            normalized_lsn
        );

        self.ordering
            .iter()
            .filter_map(move |(l, r)| {
                if *l >= normalized_lsn {
                    Some((*l, *r))
                } else {
                    None
                }
            })
            .collect()
    }

    // truncate the file to the desired length
    fn truncate(&mut self, at: LogOffset) -> Result<()> {
        trace!("asynchronously truncating file to length {}", at);

        assert_eq!(
            at % self.config.segment_size as LogOffset,
            0,
            "new length must be io-buf-len aligned"
        );

        self.tip = at;

        assert!(!self.free.contains(&at), "double-free of a segment occurred");

        let (completer, promise) = OneShot::pair();

        let config = self.config.clone();

        io_fail!(&config, "file truncation");
        threadpool::spawn(move || {
            debug!("truncating file to length {}", at);
            let res = config
                .file
                .set_len(at)
                .and_then(|_| config.file.sync_all())
                .map_err(|e| e.into());
            completer.fill(res);
        })?;

        if self.async_truncations.insert(at, promise).is_some() {
            panic!(
                "somehow segment {} was truncated before \
                 the previous truncation completed",
                at
            );
        }

        Ok(())
    }

    fn segment_id(&mut self, lid: LogOffset) -> SegmentId {
        let idx = assert_usize(lid / self.config.segment_size as LogOffset);

        // TODO never resize like this, make it a single
        // responsibility when the tip is bumped / truncated.
        if self.segments.len() < idx + 1 {
            self.segments.resize(idx + 1, Segment::default());
        }

        idx
    }
}
