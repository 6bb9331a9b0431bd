//! OnePoint: a snapshot's page states kept as read from its file, each decoded when it
//! is asked for (see `PageStates`).

use std::borrow::Cow;
use std::fmt;

use crate::*;

use super::{LogOffset, PageState};

/// OnePoint: how many snapshots this process has read into `PageStates` kept undecoded
/// (every snapshot with a page state), for tests.
static KEPT_UNDECODED: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// OnePoint: how many snapshots this process has read and kept undecoded.
#[doc(hidden)]
pub fn snapshots_kept_undecoded() -> usize {
    KEPT_UNDECODED.load(std::sync::atomic::Ordering::Relaxed)
}

/// OnePoint: the page states of a snapshot, by page id: those read from the snapshot's
/// file kept as its bytes, with where each starts, and those the log's tail set since
/// (`Snapshot::apply`) beside them. sled decoded every page state of the file at open
/// into a vector of 72 bytes each (on a 10M-deal store about 320k of them: 23-25 ms of
/// a 55 ms open, and 23 MB for as long as the page table keeps the snapshot, item 28).
/// Now the open only steps over them (`read`: a byte or two of each field, and the
/// offset each piece lies at, for `beyond`) and each is decoded when asked for: by the
/// page table when the page is first read (`PageTable::install_unread`), by the
/// segment accountant's thread (`iter`), and by the snapshot's writer, which copies the
/// states nobody changed as they were read (`serialize_into`).
#[derive(Default)]
#[cfg_attr(test, derive(Clone))]
pub struct PageStates {
    /// The snapshot's bytes (its header too); the page states run from `starts[0]` to
    /// the end.
    raw: Vec<u8>,
    /// Where each page state of `raw` starts, by page id.
    starts: Vec<u32>,
    /// The page states set since the snapshot was read (the log's tail), and any page
    /// beyond `starts` (`Uninitialized` where none is here), by page id; every key is
    /// below `len` (`pop` takes the last one out before it shortens `len`).
    changed: FastMap8<usize, PageState>,
    /// How many page ids there are: `starts.len()` or more.
    len: usize,
    /// The pages of `raw` that are free, in page order.
    raw_free: Vec<usize>,
    /// The furthest offset any piece of a page of `raw` lies at.
    raw_max_lid: Option<LogOffset>,
}

impl PageStates {
    /// Page states already decoded (a snapshot taken from the page table, or one whose
    /// file is too big for `u32` offsets).
    pub(crate) fn from_vec(states: Vec<PageState>) -> PageStates {
        let len = states.len();
        PageStates {
            changed: states.into_iter().enumerate().collect(),
            len,
            ..PageStates::default()
        }
    }

    /// The page states of `bytes` from `first` on, stepped over and kept undecoded.
    /// Fails as corrupt where `PageState::deserialize` would not read one.
    pub(crate) fn read(bytes: Vec<u8>, first: usize) -> Result<PageStates> {
        if bytes.len() > u32::MAX as usize {
            let mut rest = &bytes[first..];
            let mut states = Vec::new();
            while !rest.is_empty() {
                states.push(PageState::deserialize(&mut rest)?);
            }
            return Ok(PageStates::from_vec(states));
        }
        // A page state takes about 19 bytes (`onepoint-bench ingest`, 200k and 10M
        // deals): room for one every 16, so the vector grows at most once, and what it
        // reserves beyond is never touched.
        let mut starts = Vec::with_capacity((bytes.len() - first) / 16);
        let mut raw_free = Vec::new();
        let mut max_lid = None;
        let mut at = first;
        while at < bytes.len() {
            #[allow(clippy::cast_possible_truncation)]
            starts.push(at as u32);
            let (next, free) = step(&bytes, at, &mut max_lid)
                .ok_or_else(|| Error::corruption(None))?;
            if free {
                raw_free.push(starts.len() - 1);
            }
            at = next;
        }
        if !starts.is_empty() {
            KEPT_UNDECODED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let len = starts.len();
        Ok(PageStates {
            raw: bytes,
            starts,
            changed: FastMap8::default(),
            len,
            raw_free,
            raw_max_lid: max_lid,
        })
    }

    /// How many page states are held decoded: those set since the snapshot was read
    /// (or every one, where it was not read from a file).
    pub(crate) fn decoded(&self) -> usize {
        self.changed.len()
    }

    /// How many page ids there are.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The page state of `pid` as read from the file (`Uninitialized` past its states).
    fn from_file(&self, pid: usize) -> PageState {
        if pid >= self.starts.len() {
            return PageState::Uninitialized;
        }
        PageState::deserialize(&mut self.raw_run(pid, pid + 1))
            .expect("a page state stepped over when the snapshot was read")
    }

    /// The page state of `pid`; `None` beyond the last.
    pub(crate) fn get(&self, pid: usize) -> Option<Cow<'_, PageState>> {
        if pid >= self.len {
            return None;
        }
        Some(match self.changed.get(&pid) {
            Some(state) => Cow::Borrowed(state),
            None => Cow::Owned(self.from_file(pid)),
        })
    }

    /// The page state of `pid`, to change; `None` beyond the last.
    pub(crate) fn get_mut(&mut self, pid: usize) -> Option<&mut PageState> {
        if pid >= self.len {
            return None;
        }
        if !self.changed.contains_key(&pid) {
            let state = self.from_file(pid);
            self.changed.insert(pid, state);
        }
        self.changed.get_mut(&pid)
    }

    /// Sets the page state of `pid`, below `len`.
    pub(crate) fn set(&mut self, pid: usize, state: PageState) {
        assert!(pid < self.len, "page {} set beyond {} page states", pid, self.len);
        self.changed.insert(pid, state);
    }

    /// Adds `Uninitialized` page states up to `len` page ids.
    pub(crate) fn grow_to(&mut self, len: usize) {
        self.len = self.len.max(len);
    }

    /// Takes the last page state off.
    pub(crate) fn pop(&mut self) -> Option<PageState> {
        let pid = self.len.checked_sub(1)?;
        let state = match self.changed.remove(&pid) {
            Some(state) => state,
            None => self.from_file(pid),
        };
        self.len = pid;
        if pid < self.starts.len() {
            // The page states of `raw` end where this one started.
            self.raw.truncate(self.starts[pid] as usize);
            self.starts.truncate(pid);
            self.raw_free.retain(|&free| free < pid);
        }
        Some(state)
    }

    /// Every page state, in page order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Cow<'_, PageState>> + '_ {
        let mut rest: &[u8] =
            self.starts.first().map_or(&[], |&first| &self.raw[first as usize..]);
        (0..self.len).map(move |pid| {
            let from_file = (pid < self.starts.len()).then(|| {
                PageState::deserialize(&mut rest)
                    .expect("a page state stepped over when the snapshot was read")
            });
            match (self.changed.get(&pid), from_file) {
                (Some(state), _) => Cow::Borrowed(state),
                (None, Some(state)) => Cow::Owned(state),
                (None, None) => Cow::Owned(PageState::Uninitialized),
            }
        })
    }

    /// The free pages, in no particular order.
    pub(crate) fn free_pids(&self) -> Vec<usize> {
        let mut free: Vec<usize> = (self.raw_free.iter().copied())
            .filter(|pid| !self.changed.contains_key(pid))
            .collect();
        free.extend(
            (self.changed.iter())
                .filter(|(_, state)| state.is_free())
                .map(|(pid, _)| *pid),
        );
        #[cfg(debug_assertions)]
        {
            let mut ours = free.clone();
            ours.sort_unstable();
            let decoded: Vec<usize> = (self.iter().enumerate())
                .filter(|(_, state)| state.is_free())
                .map(|(pid, _)| pid)
                .collect();
            assert_eq!(ours, decoded, "free pages unlike the page states decoded");
        }
        free
    }

    /// Whether any piece of any page lies at `end` or beyond, or a page id has no page
    /// state (`Uninitialized`).
    pub(crate) fn beyond(&self, end: LogOffset) -> bool {
        let bad = |state: &PageState| match state {
            PageState::Present { base, frags } => {
                base.1.lid() >= end || frags.iter().any(|f| f.1.lid() >= end)
            }
            PageState::Free(_, ptr) => ptr.lid() >= end,
            PageState::Uninitialized => true,
        };
        if self.raw_max_lid.map_or(false, |max| max >= end) {
            // Rare (a file cut short): whether a page still holds such a piece.
            return self.iter().any(|state| bad(&state));
        }
        let beyond = self.changed.values().any(bad)
            || (self.starts.len()..self.len).any(|pid| !self.changed.contains_key(&pid));
        debug_assert_eq!(
            beyond,
            self.iter().any(|state| bad(&state)),
            "a check unlike one of the page states decoded"
        );
        beyond
    }

    /// The page ids set since the snapshot was read, in order.
    fn changed_in_order(&self) -> Vec<usize> {
        let mut pids: Vec<usize> = self.changed.keys().copied().collect();
        pids.sort_unstable();
        pids
    }

    /// The bytes of the page states `from..to` of `raw`, none changed.
    fn raw_run(&self, from: usize, to: usize) -> &[u8] {
        if from >= to {
            return &[];
        }
        let start = self.starts[from] as usize;
        let end = self.starts.get(to).map_or(self.raw.len(), |&e| e as usize);
        &self.raw[start..end]
    }

    /// What `serialize_into` writes, in bytes.
    pub(crate) fn serialized_size(&self) -> u64 {
        // As sled: a page id with no state cannot be written (`check_snapshot` refuses
        // such a snapshot at open).
        if let Some(pid) =
            (self.starts.len()..self.len).find(|pid| !self.changed.contains_key(pid))
        {
            panic!("tried to serialize Uninitialized (page {})", pid);
        }
        let mut size = self.raw_run(0, self.starts.len()).len() as u64;
        for pid in self.changed_in_order() {
            size -= self.raw_run(pid, (pid + 1).min(self.starts.len())).len() as u64;
            size += self.changed[&pid].serialized_size();
        }
        size
    }

    /// Writes every page state, in order: those of `raw` nobody changed as they were
    /// read, runs at a time.
    pub(crate) fn serialize_into(&self, buf: &mut &mut [u8]) {
        let size = usize::try_from(self.serialized_size()).unwrap();
        let (ours, rest) = std::mem::take(buf).split_at_mut(size);
        self.write_into(ours);
        // Debug builds (the tests) check the copy against every page state decoded and
        // serialized one by one, as sled wrote them.
        #[cfg(debug_assertions)]
        {
            let mut expected = Vec::with_capacity(size);
            for state in self.iter() {
                let mut one = vec![0; usize::try_from(state.serialized_size()).unwrap()];
                state.serialize_into(&mut one.as_mut_slice());
                expected.extend_from_slice(&one);
            }
            assert!(
                &ours[..] == &expected[..],
                "page states serialized unlike sled's own serialization"
            );
        }
        *buf = rest;
    }

    /// `serialize_into`, into exactly `serialized_size` bytes.
    fn write_into(&self, mut buf: &mut [u8]) {
        let buf = &mut buf;
        let raw_count = self.starts.len();
        let mut copy = |bytes: &[u8], buf: &mut &mut [u8]| {
            let (head, tail) = std::mem::take(buf).split_at_mut(bytes.len());
            head.copy_from_slice(bytes);
            *buf = tail;
        };
        let mut next = 0;
        for pid in self.changed_in_order() {
            if next < raw_count && pid > next {
                copy(self.raw_run(next, pid.min(raw_count)), buf);
            }
            self.changed[&pid].serialize_into(buf);
            next = pid + 1;
        }
        if next < raw_count {
            copy(self.raw_run(next, raw_count), buf);
        }
    }
}

impl PartialEq for PageStates {
    fn eq(&self, other: &PageStates) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for PageStates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Where the page state serialized at `at` ends and whether it is free, stepping over
/// its fields as `PageState::deserialize` reads them and keeping the furthest offset a
/// piece lies at in `max_lid`; `None` where it would not read one.
fn step(b: &[u8], at: usize, max_lid: &mut Option<LogOffset>) -> Option<(usize, bool)> {
    /// A number as `u64::deserialize` reads it, and where it ends.
    fn varint(b: &[u8], at: usize) -> Option<(u64, usize)> {
        let first = *b.get(at)?;
        let (value, len) = match first {
            0..=240 => (u64::from(first), 1),
            241..=248 => {
                (240 + 256 * (u64::from(first) - 241) + u64::from(*b.get(at + 1)?), 2)
            }
            249 => (
                2288 + 256 * u64::from(*b.get(at + 1)?) + u64::from(*b.get(at + 2)?),
                3,
            ),
            other => {
                let sz = other as usize - 247;
                let bytes = b.get(at + 1..at + 1 + sz)?;
                let mut aligned = [0; 8];
                aligned[..sz].copy_from_slice(bytes);
                (u64::from_le_bytes(aligned), sz + 1)
            }
        };
        Some((value, at + len))
    }
    let mut disk_ptr = |b: &[u8], at: usize| -> Option<usize> {
        if b.len() < at + 2 {
            return None;
        }
        let (lid, end) = match b[at] {
            0 => varint(b, at + 1)?,
            1 => {
                let (lid, at) = varint(b, at + 1)?;
                (lid, (at + 8 <= b.len()).then(|| at + 8)?)
            }
            _ => return None,
        };
        *max_lid = Some(max_lid.map_or(lid, |m| m.max(lid)));
        Some(end)
    };
    let lsn = |b: &[u8], at: usize| (at + 8 <= b.len()).then(|| at + 8);
    let tag = *b.get(at)?;
    let at = at + 1;
    if tag == 0 {
        return Some((disk_ptr(b, lsn(b, at)?)?, true));
    }
    let size = |b: &[u8], at: usize| varint(b, at).map(|(_, end)| end);
    let mut at = size(b, disk_ptr(b, lsn(b, at)?)?)?;
    // The fragments: up to `tag - 1`, as many as there are bytes for.
    for _ in 1..tag {
        if at == b.len() {
            break;
        }
        at = size(b, disk_ptr(b, lsn(b, at)?)?)?;
    }
    Some((at, false))
}
