//! Every member's lowercased name by id, for name search (see `reads.rs` and `window.rs`):
//! kept in memory as one text, and saved beside the store (`members.names`, the checked
//! layout of `reports::snapshot`), so the first search after opening reads one file instead
//! of every key of the name index.
//!
//! Names never change after joining and ids are dense, so the list is a prefix of the id
//! range: a saved one is brought up to date by reading the members who joined after it.
//! The file is a cache, never a source of truth: it is written only from what the store
//! holds (durable before visible), and taken only whole (checksummed), of this store (the
//! fingerprint of the event it is as of) and not ahead of it; else the list is built again
//! from the name index and saved.
//!
//! A console or server starts loading the list on a thread when it opens the store
//! (`Core::warm_names`), which then keeps it up to date (and saved) every few seconds: a
//! search that comes while the file is read waits for it (a
//! fraction of a second); one that comes while a large list is built from the index reads
//! the members' records instead (`Core::names` answers `None`), so it waits for no full
//! scan.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::core::{Core, Shared};
use super::error::{Error, Result};
use super::ids::MemberId;
use super::ledger::member_of;
use super::model::Member;
use super::reports::snapshot;
use super::schema::{MEMBER, Meta, NAME, decode, key1, read_u64};
use super::store::Store;

mod file;
mod list;

use file::load_file;
pub use file::path;
pub use list::List;

/// Names a search waits to be read (after the saved list's end, from the members' records;
/// or, with no saved list, from the index): past this many (about 200 ms at 4 us each,
/// cold), searches meanwhile read the members' records instead.
const WAITED: u64 = 50_000;

/// The list is saved again once this many members joined since the saved one.
const RESAVE_AFTER: u64 = 10_000;

/// How often a console's or server's loader thread brings the list up to date (`refresh`).
const REFRESH_EVERY: Duration = Duration::from_secs(10);

/// How often (in keys) a build checks whether the store is closing.
const STOP_EVERY: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Phase {
    #[default]
    Idle,
    /// A loader reads the saved list and at most `WAITED` names more: searches wait.
    Reading,
    /// A loader reads more names than that: searches read records meanwhile.
    Building,
}

#[derive(Default)]
pub struct State {
    list: Arc<List>,
    /// Set once the list is in place (loaded or built; empty for a store of no members).
    loaded: bool,
    /// How many of the names the file beside the store holds (as far as is known).
    saved: u64,
    phase: Phase,
}

impl State {
    /// Puts the list in place; `from_file`: it is (a prefix of) the saved one.
    fn put(&mut self, list: List, from_file: bool) {
        self.saved = if from_file { list.len() as u64 } else { 0 };
        self.list = Arc::new(list);
        self.loaded = true;
    }
}

impl std::ops::Deref for State {
    type Target = List;
    fn deref(&self) -> &List {
        &self.list
    }
}

/// The names in memory, and the threads loading and saving them.
#[derive(Default)]
pub struct Names {
    state: Mutex<State>,
    changed: Condvar,
    /// Set when the store closes: a loader stops where it is.
    stop: AtomicBool,
    loader: Mutex<Option<JoinHandle<()>>>,
    saver: Mutex<Option<JoinHandle<()>>>,
}

impl Names {
    /// Stops and waits for the loader (the store is closing; it holds the store).
    pub fn stop_loader(&self) {
        {
            // Under the lock its pauses wait with (see `pause`): no wake-up is missed.
            let _st = self.state.lock();
            self.stop.store(true, Ordering::Release);
        }
        self.changed.notify_all();
        if let Some(h) = self.loader.lock().take() {
            let _ = h.join();
        }
    }

    /// Saves `list` (as of event `offset`) on a thread of its own, unless a save is still
    /// being written (the next search past `RESAVE_AFTER` tries again). A store that cannot
    /// take the file (read-only directory, full disk) only loses a fast first search.
    fn save(&self, st: &mut State, store: &Store, offset: u64) {
        let mut saver = self.saver.lock();
        if saver.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        if let Some(h) = saver.take() {
            let _ = h.join();
        }
        let Ok(Some(print)) = snapshot::fingerprint(store, offset) else {
            return;
        };
        let (dir, list) = (store.dir().to_path_buf(), st.list.clone());
        let write = move || {
            let _ = file::write(&dir, &list, offset, print);
        };
        st.saved = st.list.len() as u64;
        match std::thread::Builder::new()
            .name("member-names".into())
            .spawn(write)
        {
            Ok(h) => *saver = Some(h),
            Err(e) => tracing::debug!("no thread to save the member names: {e}"),
        }
    }
}

impl Drop for Names {
    /// The saved file is whole before the store closes (one cut short by the process
    /// ending is only a temporary file, never taken).
    fn drop(&mut self) {
        if let Some(h) = self.saver.get_mut().take() {
            let _ = h.join();
        }
    }
}

/// Appends the names of the members after the list's end up to `last`, from their records.
fn catch_up(store: &Store, list: &mut List, last: u64, stop: &AtomicBool) -> Result<bool> {
    let have = list.len() as u64;
    if have >= last {
        return Ok(true);
    }
    for (n, r) in store
        .range(&key1(MEMBER, have + 1), &key1(MEMBER, last + 1))
        .enumerate()
    {
        if n % STOP_EVERY == 0 && stop.load(Ordering::Acquire) {
            return Ok(false);
        }
        let (k, v) = r?;
        if read_u64(&k, 1) != list.len() as u64 + 1 {
            return Err(Error::store("the member ids have a gap: names not read"));
        }
        let m: Member = decode(&v)?;
        list.push(&m.name.to_lowercase());
    }
    Ok(true)
}

/// The list of members 1 ..= `last`, from the name index's keys alone (no record decoding;
/// a member missing from the index is read from its record); `None` when stopped.
fn build(store: &Store, last: u64, stop: &AtomicBool) -> Result<Option<List>> {
    // The names in key order, then placed in id order.
    let mut by_key = String::new();
    let mut at: Vec<(u32, u32)> = vec![(0, u32::MAX); last as usize];
    for (n, r) in store.scan_prefix(&[NAME]).enumerate() {
        if n % STOP_EVERY == 0 && stop.load(Ordering::Acquire) {
            return Ok(None);
        }
        let (k, _) = r?;
        let id = read_u64(&k, k.len() - 8);
        if (1..=last).contains(&id) {
            let name = String::from_utf8_lossy(&k[1..k.len() - 9]);
            let (Ok(start), Ok(len)) = (u32::try_from(by_key.len()), u32::try_from(name.len()))
            else {
                // Past 4 GB of names: read from the records.
                continue;
            };
            by_key.push_str(&name);
            at[id as usize - 1] = (start, len);
        }
    }
    let mut list = List::with_capacity(at.len(), by_key.len() + at.len());
    for (i, (start, len)) in at.into_iter().enumerate() {
        if len == u32::MAX {
            let m = member_of(store, MemberId(i as u64 + 1))?;
            list.push(&m.name.to_lowercase());
        } else {
            list.push(&by_key[start as usize..(start + len) as usize]);
        }
    }
    Ok(Some(list))
}

/// The list as of `meta`: the saved one brought up to date, else built from the index;
/// `slow` is called before anything long starts (reading more than `WAITED` names). `None`
/// when stopped.
fn fill(
    store: &Store,
    meta: &Meta,
    stop: &AtomicBool,
    slow: impl FnOnce(),
) -> Result<Option<(List, bool)>> {
    let last = meta.last_member;
    // A file that cannot be read or checked is as none: the list is built again.
    let saved = load_file(store, meta).unwrap_or_else(|e| {
        tracing::debug!("the saved member names are not taken: {e}");
        None
    });
    match saved {
        Some(mut list) => {
            if last - list.len() as u64 > WAITED {
                slow();
            }
            Ok(catch_up(store, &mut list, last, stop)?.then_some((list, true)))
        }
        None => {
            if last > WAITED {
                slow();
            }
            Ok(build(store, last, stop)?.map(|l| (l, false)))
        }
    }
}

/// What `Core::names` gives a search: the list, up to date, or `None` while a loader
/// builds it from the index (the search reads the members' records instead).
pub type Guard<'a> = MutexGuard<'a, State>;

impl Core {
    /// Starts loading the name list on a thread (a console or a server, when it opens the
    /// store), so that the first search finds it ready; the thread then keeps it up to date
    /// and saved (`refresh`) until the store closes. One-shot commands do not: their first
    /// search loads it (and saves it) itself.
    pub fn warm_names(&self) {
        let names = &self.shared.names;
        let mut loader = names.loader.lock();
        {
            // Set before the thread starts, so a search right after opening waits for it
            // rather than loading the list too.
            let mut st = names.state.lock();
            if loader.is_some() || st.loaded || st.phase != Phase::Idle {
                return;
            }
            st.phase = Phase::Reading;
        }
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name("member-names-load".into())
            .spawn(move || {
                if let Err(e) = load(&shared) {
                    tracing::warn!("loading the member names failed (searches read them): {e}");
                }
                while !pause(&shared.names, REFRESH_EVERY) {
                    if let Err(e) = refresh(&shared) {
                        tracing::debug!("bringing the member names up to date failed: {e}");
                    }
                }
            });
        match spawned {
            Ok(h) => *loader = Some(h),
            Err(e) => {
                names.state.lock().phase = Phase::Idle;
                names.changed.notify_all();
                tracing::debug!("no thread to load the member names: {e}");
            }
        }
    }

    /// Every member's lowercased name, up to date (loaded, or built from the index, on the
    /// first call); `None` while a loader thread builds it from the index.
    pub(super) fn names(&self) -> Result<Option<Guard<'_>>> {
        self.shared.settle()?;
        let meta = self.meta();
        let names = &self.shared.names;
        let store = &self.shared.store;
        let mut st = names.state.lock();
        loop {
            match st.phase {
                Phase::Reading => names.changed.wait(&mut st),
                Phase::Building if !st.loaded => return Ok(None),
                _ => break,
            }
        }
        let last = meta.last_member;
        let mut grew = false;
        if !st.loaded {
            let Some((list, from_file)) = fill(store, &meta, &names.stop, || {})? else {
                return Ok(None);
            };
            st.put(list, from_file);
            grew = true;
        } else if (st.len() as u64) < last {
            // Copied only while the saving thread still holds it.
            catch_up(store, Arc::make_mut(&mut st.list), last, &names.stop)?;
            grew = true;
        }
        if grew && st.len() as u64 == last && save_due(&st) {
            names.save(&mut st, store, meta.last_offset);
        }
        Ok(Some(st))
    }
}

/// The loader thread's work (the phase is `Reading` already): the list as of now, put in
/// place unless a search did first.
fn load(shared: &Shared) -> Result<()> {
    // The file read whole (16 MB for 1M names) or the index's names gathered go back to
    // the system when freed, not after jemalloc's decay time: this thread sleeps next.
    let _purge = crate::domain::memory::PurgeAtOnce::start();
    let names = &shared.names;
    let meta = shared.meta.lock().clone();
    let slow = || {
        names.state.lock().phase = Phase::Building;
        names.changed.notify_all();
    };
    let filled = fill(&shared.store, &meta, &names.stop, slow);
    let mut st = names.state.lock();
    st.phase = Phase::Idle;
    names.changed.notify_all();
    match filled {
        Ok(Some((list, from_file))) if !st.loaded => {
            st.put(list, from_file);
            if save_due(&st) {
                names.save(&mut st, &shared.store, meta.last_offset);
            }
            Ok(())
        }
        other => other.map(|_| ()),
    }
}

/// Waits `d` or until the store closes; true once it does.
fn pause(names: &Names, d: Duration) -> bool {
    let mut st = names.state.lock();
    if !names.stop.load(Ordering::Acquire) {
        names.changed.wait_for(&mut st, d);
    }
    names.stop.load(Ordering::Acquire)
}

/// The loader thread, after loading: brings the list up to date with the members who
/// joined since (read while they are fresh), and saves it when due, so a store that takes
/// many joins and few searches reopens with a file that is nearly current.
fn refresh(shared: &Shared) -> Result<()> {
    let names = &shared.names;
    let meta = shared.meta.lock().clone();
    let last = meta.last_member;
    let mut st = names.state.lock();
    if !st.loaded || st.phase != Phase::Idle {
        return Ok(());
    }
    if (st.len() as u64) < last
        && !catch_up(
            &shared.store,
            Arc::make_mut(&mut st.list),
            last,
            &names.stop,
        )?
    {
        return Ok(());
    }
    if st.len() as u64 == last && save_due(&st) {
        names.save(&mut st, &shared.store, meta.last_offset);
    }
    Ok(())
}

/// Whether the list in memory is to be saved: the file holds none of it (as far as is
/// known), or `RESAVE_AFTER` fewer names.
fn save_due(st: &State) -> bool {
    let len = st.len() as u64;
    len > 0 && (st.saved == 0 || len >= st.saved + RESAVE_AFTER)
}

#[cfg(test)]
mod tests {
    use super::file::{CHECKED_LAST, MAGIC};
    use super::list::tests::{list, naive};
    use super::*;
    use crate::domain::core::CoreOptions;
    use crate::domain::reports::snapshot::Head;
    use crate::domain::{Command, Keyed, MemberQuery, MemberWindow, NewMember};

    fn join(core: &Core, names: &[&str]) {
        let batch = names
            .iter()
            .map(|n| {
                Keyed::new(
                    Command::Join(NewMember {
                        name: n.to_string(),
                        phone: Some("010-1234-5678".into()),
                        address: None,
                    }),
                    None,
                )
            })
            .collect();
        for r in core.execute(batch) {
            r.unwrap();
        }
        // Answered once durable: sled has them once a read would see them.
        core.shared.settle().unwrap();
    }

    fn ids_by_members(core: &Core, q: &str) -> Vec<u64> {
        let q = MemberQuery {
            query: Some(q.into()),
            limit: 10_000,
            ..Default::default()
        };
        core.members(&q)
            .unwrap()
            .iter()
            .map(|m| m.member_id.0)
            .collect()
    }

    fn ids_by_window(core: &Core, q: &str) -> Vec<u64> {
        let q = MemberWindow {
            query: Some(q.into()),
            limit: 10_000,
            ..Default::default()
        };
        let w = core.member_window(&q).unwrap();
        w.rows.iter().map(|m| m.member_id.0).collect()
    }

    const JOINED: [&str; 6] = [
        "Kim Minjun",
        "Olivia PARK",
        "김민준",
        "Émile Kim",
        "Park Park",
        "Noah",
    ];

    #[test]
    fn a_search_while_the_list_is_built_reads_the_records_and_answers_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let core = Core::open(dir.path(), CoreOptions::default()).unwrap();
        join(&core, &JOINED);
        let lower: Vec<String> = JOINED.iter().map(|n| n.to_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        core.shared.names.state.lock().phase = Phase::Building;
        assert!(core.names().unwrap().is_none());
        let needles = ["kim", "PARK", "민준", "é", "zzz", "1234"];
        let building: Vec<_> = needles
            .iter()
            .map(|q| (ids_by_members(&core, q), ids_by_window(&core, q)))
            .collect();
        core.shared.names.state.lock().phase = Phase::Idle;
        assert!(core.names().unwrap().is_some());
        for (q, (members, window)) in needles.iter().zip(building) {
            let want = if *q == "1234" {
                // A phone fragment: every member has that phone.
                vec![1, 2, 3, 4, 5, 6]
            } else {
                naive(&lower, &q.to_lowercase())
            };
            assert_eq!(members, want, "members {q}");
            assert_eq!(ids_by_members(&core, q), want, "members from the list {q}");
            if *q != "1234" {
                assert_eq!(window, want, "window {q}");
                assert_eq!(ids_by_window(&core, q), want, "window from the list {q}");
            }
        }
    }

    #[test]
    fn the_saved_list_is_what_a_search_after_reopening_reads() {
        let dir = tempfile::tempdir().unwrap();
        let core = Core::open(dir.path(), CoreOptions::default()).unwrap();
        let fillers: Vec<String> = (0..CHECKED_LAST).map(|i| format!("Filler {i}")).collect();
        let mut all: Vec<&str> = JOINED.to_vec();
        all.extend(fillers.iter().map(String::as_str));
        join(&core, &all);
        assert_eq!(ids_by_members(&core, "olivia"), vec![2]);
        drop(core);
        let core = Core::open(dir.path(), CoreOptions::default()).unwrap();
        let meta = core.meta();
        let saved = load_file(&core.shared.store, &meta).unwrap().unwrap();
        let lower: Vec<String> = all.iter().map(|n| n.to_lowercase()).collect();
        let want = list(&lower.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(saved, want);
        // A whole file of this store naming member 2 (not among the last names, which are
        // checked) otherwise: the search reads it, not the index (the file is a cache the
        // store trusts once checked).
        let mut planted = want.clone();
        planted.text = planted.text.replace("olivia park", "olivia pork");
        let head = Head {
            offset: meta.last_offset,
            print: snapshot::fingerprint(&core.shared.store, meta.last_offset)
                .unwrap()
                .unwrap(),
            count: planted.len() as u64,
        };
        snapshot::write_checked(&path(dir.path()), MAGIC, head, 0, |out| planted.encode(out))
            .unwrap();
        assert_eq!(ids_by_members(&core, "pork"), vec![2]);
        assert_eq!(ids_by_members(&core, "park"), vec![5]);
    }

    #[test]
    fn a_loaders_refresh_saves_the_members_joined_since() {
        let dir = tempfile::tempdir().unwrap();
        let core = Core::open(dir.path(), CoreOptions::default()).unwrap();
        join(&core, &JOINED);
        core.warm_names();
        assert_eq!(ids_by_members(&core, "noah"), vec![6]);
        let more: Vec<String> = (0..RESAVE_AFTER).map(|i| format!("Joined {i}")).collect();
        for chunk in more.chunks(5_000) {
            join(&core, &chunk.iter().map(String::as_str).collect::<Vec<_>>());
        }
        refresh(&core.shared).unwrap();
        drop(core);
        let core = Core::open(dir.path(), CoreOptions::default()).unwrap();
        let meta = core.meta();
        let saved = load_file(&core.shared.store, &meta).unwrap().unwrap();
        assert_eq!(saved.len() as u64, meta.last_member);
        assert_eq!(
            saved.get(meta.last_member as usize - 1),
            Some("joined 9999")
        );
    }

    #[test]
    fn a_file_whose_last_names_are_not_the_stores_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let core = Core::open(dir.path(), CoreOptions::default()).unwrap();
        join(&core, &JOINED);
        let meta = core.meta();
        let lower: Vec<String> = JOINED.iter().map(|n| n.to_lowercase()).collect();
        let mut l = list(&lower.iter().map(String::as_str).collect::<Vec<_>>());
        let print = snapshot::fingerprint(&core.shared.store, meta.last_offset)
            .unwrap()
            .unwrap();
        let write = |l: &List, count: u64| {
            let head = Head {
                offset: meta.last_offset,
                print,
                count,
            };
            snapshot::write_checked(&path(dir.path()), MAGIC, head, 0, |out| l.encode(out))
                .unwrap();
        };
        write(&l, l.len() as u64);
        assert_eq!(
            load_file(&core.shared.store, &meta).unwrap(),
            Some(l.clone())
        );
        l.text = l.text.replace("noah", "noam");
        write(&l, l.len() as u64);
        assert_eq!(load_file(&core.shared.store, &meta).unwrap(), None);
    }
}
