//! The write path of `Store` (see `store.rs`): write sets become one sorted sled batch,
//! with the writes to the tables kept in memory (`store_memory.rs`) taken out and those
//! to the tables held back (`store_delta.rs`) kept in the delta, a chunk of a round of
//! held keys merged in, and sled's marks of the log put last.

use super::delta;
use super::memory;
use std::sync::atomic::Ordering;

use super::{APPLIED, Error, Result, Store, WriteSet, io};

/// Write sets as one sled batch, in key order (a key in several keeps the last one's
/// value), the writes to the tables kept in memory (`store_memory.rs`), in order, to
/// apply beside the batch, and those to the tables held back (`store_delta.rs`), in key
/// order (`Store::write`). Each set is in key order already, so the sort merges their
/// runs; sled is handed the sorted writes (`Tree::apply_sorted`), not a hash map it would
/// sort again.
pub(super) fn batch_of(sets: &[&WriteSet]) -> Result<Batch> {
    let mut all: Vec<(&[u8], Option<&[u8]>)> =
        Vec::with_capacity(sets.iter().map(|s| s.len()).sum());
    let mut ops = Vec::new();
    for set in sets {
        for (k, v) in &set.map {
            if memory::is_memory_key(k) {
                ops.push((memory::mem_key(k)?, v.is_some()));
            } else {
                all.push((k.as_slice(), v.as_deref()));
            }
        }
    }
    // Stable: of a key's writes, the last set's stays last, and is the one kept.
    all.sort_by(|a, b| a.0.cmp(b.0));
    let mut batch = Batch {
        writes: Vec::with_capacity(all.len() + 1),
        ops,
        held: Vec::new(),
        misfit: false,
    };
    for (i, (k, v)) in all.iter().enumerate() {
        if all.get(i + 1).is_some_and(|next| next.0 == *k) {
            continue;
        }
        if delta::is_delta_key(k) {
            match delta::fit(k, *v) {
                Some(w) => {
                    batch.held.push(w);
                    continue;
                }
                None => batch.misfit = true,
            }
        }
        batch
            .writes
            .push((sled::IVec::from(*k), v.map(sled::IVec::from)));
    }
    Ok(batch)
}

/// Write sets split by where their writes go (`batch_of`).
pub(super) struct Batch {
    /// To sled, in key order.
    pub(super) writes: Vec<SledWrite>,
    /// To the tables kept in memory, in order.
    pub(super) ops: Vec<memory::Op>,
    /// To the tables held back, in key order.
    pub(super) held: Vec<(delta::Key, bool)>,
    /// A write to a table held back that is not one the write path makes (a value, a key
    /// of another length): in `writes`, so the batch's writes to those tables all go
    /// to sled (`Store::write`).
    pub(super) misfit: bool,
}

/// Writes to the tables held back as sled writes, merged into `writes` (both in key
/// order; their keys are of other tables).
pub(super) fn merge_held(writes: &mut Vec<SledWrite>, held: &[(delta::Key, bool)]) {
    if held.is_empty() {
        return;
    }
    let old = std::mem::take(writes);
    writes.reserve(old.len() + held.len());
    let mut held = held.iter().peekable();
    for w in old {
        while let Some((k, put)) = held.next_if(|(k, _)| delta::bytes(k) < w.0.as_ref()) {
            writes.push(held_write(k, *put));
        }
        writes.push(w);
    }
    writes.extend(held.map(|(k, put)| held_write(k, *put)));
}

fn held_write(k: &delta::Key, put: bool) -> SledWrite {
    (
        sled::IVec::from(delta::bytes(k)),
        put.then(sled::IVec::default),
    )
}

/// Puts `key = n` (u64 BE) into a batch in key order.
pub(super) fn put_mark(batch: &mut Vec<SledWrite>, key: &[u8], n: u64) {
    let w = (
        sled::IVec::from(key),
        Some(sled::IVec::from(&n.to_be_bytes())),
    );
    match batch.binary_search_by(|w| w.0.as_ref().cmp(key)) {
        Ok(at) => batch[at] = w,
        Err(at) => batch.insert(at, w),
    }
}

/// One write of a sled batch: a key and its new value (`None`: removed).
pub(super) type SledWrite = (sled::IVec, Option<sled::IVec>);

impl Store {
    /// Applies consecutive log records' writes, the last record `last`, to sled as one
    /// atomic batch with that sequence number (a key written by several keeps the last
    /// value); from here readers see them. It is what the apply thread does with
    /// the records of one or more groups, so keys written again and again (counters, the
    /// meta) are written once, and sled applies the writes that land in one leaf together.
    pub fn apply_logged_many(&self, last: u64, sets: &[&WriteSet]) -> Result<()> {
        if let Some(f) = &self.faults {
            f.wait_while_held();
        }
        if let Some(f) = self.faults.as_ref().filter(|f| f.apply_fails()) {
            return Err(io("cannot write to", &self.dir.join("sled"), f.message()));
        }
        self.apply_at(last, sets)
    }

    pub(super) fn apply_at(&self, last: u64, sets: &[&WriteSet]) -> Result<()> {
        self.write(sets, Some(last), last)
    }

    /// One atomic sled batch of the sets' writes, their writes to the tables kept in
    /// memory, and to the tables held back. Given `last`, the log record they end with,
    /// those are held back (`store_delta.rs`), sled's mark of the log becomes `wal_mark`,
    /// and the batch also moves a chunk of a round of held keys to sled. Else (no log
    /// record: opening, migrating) the held keys are all moved to sled first and the
    /// sets' writes to those tables go to sled too, as they do when one of them is not a
    /// write the log makes (`Batch::misfit`).
    pub(super) fn write(&self, sets: &[&WriteSet], last: Option<u64>, wal_mark: u64) -> Result<()> {
        let Batch {
            mut writes,
            ops,
            mut held,
            misfit,
        } = batch_of(sets)?;
        let mut f = self.delta.lock();
        let mut chunk = None;
        let mut mark = None;
        if last.is_none() || misfit {
            if misfit || !held.is_empty() {
                self.flush_delta_locked(&mut f)?;
                merge_held(&mut writes, &held);
                held.clear();
                mark = last;
            }
        } else {
            if f.mark.is_none() {
                // These tables were all in sled so far: from now on they are not.
                mark = Some(self.delta.seq(&f));
            }
            chunk = self.delta.next_chunk(&mut f);
            if let Some(c) = &chunk {
                merge_held(&mut writes, &c.writes);
                mark = c.mark.or(mark);
            }
        }
        if let Some(last) = last {
            put_mark(&mut writes, APPLIED, wal_mark.max(last));
        }
        if let Some(m) = mark {
            put_mark(&mut writes, delta::MARK, m);
        }
        self.since_snapshot
            .fetch_add(writes.len() as u64, Ordering::Relaxed);
        // The in-memory tables are written as sled starts on the batch, while its helper
        // thread takes the first chunks (`apply_sorted_with`): off the serial path. If sled
        // then fails, the store refuses writes until it reopens sled, which builds these
        // tables again from the accounts; the writes were durable in the log anyway.
        let side = || {
            self.memory.apply(&ops);
            if let Some(last) = last {
                self.delta.apply(&held, last);
            }
        };
        self.with_db(|db| db.apply_sorted_with(writes, side))
            .map_err(|e| self.write_error(e))?;
        if let Some(m) = mark {
            f.mark = Some(m);
        }
        if let Some(c) = chunk {
            self.delta.moved(&mut f, &c, false);
        }
        Ok(())
    }

    /// Moves every key held back to sled, with the mark of the log record the map holds
    /// them to; `f` is the delta's lock.
    pub(super) fn flush_delta_locked(&self, f: &mut delta::Flush) -> Result<()> {
        let all = self.delta.all(f);
        if all.writes.is_empty() && f.mark == all.mark {
            return Ok(());
        }
        let mut writes = Vec::with_capacity(all.writes.len() + 1);
        merge_held(&mut writes, &all.writes);
        put_mark(&mut writes, delta::MARK, all.mark.unwrap_or(0));
        self.since_snapshot
            .fetch_add(writes.len() as u64, Ordering::Relaxed);
        self.with_db(|db| db.apply_sorted(writes))
            .map_err(|e| self.write_error(e))?;
        self.delta.moved(f, &all, true);
        Ok(())
    }

    /// Moves every key held back to sled (see `store_delta.rs`): the log need not be
    /// applied again for them.
    pub fn flush_delta(&self) -> Result<()> {
        let mut f = self.delta.lock();
        self.flush_delta_locked(&mut f)
    }

    /// Keys of the deals' indexes held back from sled.
    pub fn delta_keys(&self) -> usize {
        self.delta.len()
    }

    /// A failed write to sled, naming sled's folder (once).
    pub(super) fn write_error(&self, e: Error) -> Error {
        let sled_dir = self.dir.join("sled");
        match e {
            Error::Store { message } if !message.contains(&*sled_dir.to_string_lossy()) => {
                io("cannot write to", &sled_dir, message)
            }
            e => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sets become one sorted batch with one write per key, the last set's value kept; the
    /// in-memory tables' writes are taken out, in order.
    #[test]
    fn write_sets_become_one_sorted_batch_where_the_last_write_of_a_key_wins() {
        let balance = |n: u8| [&[crate::domain::schema::BALANCE][..], &[n; 16]].concat();
        let mut first = WriteSet::default();
        first.put(b"k-b", b"1");
        first.put(b"k-a", b"1");
        first.remove(b"k-c");
        first.put(&balance(1), b"");
        let mut second = WriteSet::default();
        second.put(b"k-c", b"2");
        second.remove(b"k-a");
        second.put(b"k-0", b"2");
        second.remove(&balance(1));
        // The deals' indexes: held back when they are keys only of their length.
        let view = |m: u64| crate::domain::schema::key2(crate::domain::schema::VIEW, m, 7);
        first.put(&view(1), b"");
        second.remove(&view(1));
        second.put(&view(2), b"");
        let batch = batch_of(&[&first, &second]).unwrap();
        assert!(!batch.misfit);
        let held: Vec<(&[u8], bool)> = (batch.held.iter())
            .map(|(k, put)| (delta::bytes(k), *put))
            .collect();
        assert_eq!(held, vec![(&view(1)[..], false), (&view(2)[..], true)]);
        let mut third = WriteSet::default();
        third.put(&view(3), b"a value");
        let odd = batch_of(&[&first, &third]).unwrap();
        assert!(odd.misfit);
        assert_eq!(odd.held.len(), 1);
        assert!(odd.writes.iter().any(|w| w.0.as_ref() == &view(3)[..]));
        let Batch { writes, ops, .. } = batch;
        let got: Vec<(&[u8], Option<&[u8]>)> = (writes.iter())
            .map(|(k, v)| (k.as_ref(), v.as_deref()))
            .collect();
        let want: Vec<(&[u8], Option<&[u8]>)> = vec![
            (b"k-0", Some(b"2")),
            (b"k-a", None),
            (b"k-b", Some(b"1")),
            (b"k-c", Some(b"2")),
        ];
        assert_eq!(got, want);
        let key = memory::mem_key(&balance(1)).unwrap();
        assert_eq!(ops, vec![(key, true), (key, false)]);
    }
}
