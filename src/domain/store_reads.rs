//! Reading the store, for `store.rs`: a key, a prefix or a range, from sled and from the
//! tables kept in memory (`store_memory.rs`) in one key order, protected (waiting for a
//! batch being applied) or, for the writer's transaction, not.

use super::super::error::Result;
use super::{Entries, Store, Val, delta, memory};

impl Store {
    pub fn get_val(&self, key: &[u8]) -> Result<Option<Val>> {
        self.get_with(key, true)
    }

    /// `get_val` for the writer's transaction (`Tx`), which does not wait while the apply
    /// thread applies a batch (sled's `get_unprotected`). A batch in flight may be partly
    /// seen, which the writer never notices: every key of a batch not yet applied is in
    /// its `Pending`, read before the store. Readers that need a batch whole (every
    /// query) use `get_val`.
    pub(in crate::domain) fn get_val_unprotected(&self, key: &[u8]) -> Result<Option<Val>> {
        self.get_with(key, false)
    }

    fn get_with(&self, key: &[u8], protected: bool) -> Result<Option<Val>> {
        if memory::is_memory_key(key) {
            self.build_memory()?;
            return Ok(self
                .memory
                .contains(key)
                .then(|| Val(sled::IVec::default())));
        }
        // A key held back is as the map has it; one it lets go of, sled has already.
        if let Some(put) = self.delta.get(key) {
            return Ok(put.then(|| Val(sled::IVec::default())));
        }
        // `with_db` names the file when sled says it is damaged or the disk is full.
        self.with_db(|db| {
            if protected {
                db.get(key)
            } else {
                db.get_unprotected(key)
            }
        })
        .map(|v| v.map(Val))
    }

    /// Entries whose key starts with `prefix`, ascending (`.rev()` for descending).
    pub fn scan_prefix(&self, prefix: &[u8]) -> Entries {
        if prefix.is_empty() {
            return self.entries(prefix, None, true);
        }
        self.entries(prefix, Some(&super::super::tx::prefix_end(prefix)), true)
    }

    /// Entries with `from <= key < to`, ascending (`.rev()` for descending).
    pub fn range(&self, from: &[u8], to: &[u8]) -> Entries {
        self.entries(from, Some(to), true)
    }

    /// `range` for the writer's transaction, as `get_val_unprotected`.
    pub(in crate::domain) fn range_unprotected(&self, from: &[u8], to: &[u8]) -> Entries {
        self.entries(from, Some(to), false)
    }

    /// Entries with `from <= key < to` (`None`: no end): sled's, and those of the tables
    /// kept in memory that the range covers, in key order.
    fn entries(&self, from: &[u8], to: Option<&[u8]>, protected: bool) -> Entries {
        use std::ops::Bound;
        let sled_part = |lo: Vec<u8>, hi: Option<Vec<u8>>| -> Entries {
            // The held keys first, then sled (see `store_delta.rs`).
            let held =
                (delta::overlaps(&lo, hi.as_deref())).then(|| self.delta.range(&lo, hi.as_deref()));
            let hi = hi.map_or(Bound::Unbounded, Bound::Excluded);
            let range = (Bound::Included(lo), hi);
            let sled = self.iter_with(&|db| {
                let iter = db.range::<Vec<u8>, _>(range.clone());
                if protected { iter } else { iter.unprotected() }
            });
            match held {
                Some(held) => Box::new(delta::Merged::new(held, sled)),
                None => Box::new(sled),
            }
        };
        let below = |a: &[u8], b: Option<&[u8]>| b.is_none_or(|b| a < b);
        let mut parts: Vec<Entries> = Vec::new();
        let mut lo = from.to_vec();
        for t in memory::TABLES {
            let (t_lo, t_hi) = ([t], [t + 1]);
            if !below(&lo, to) {
                break;
            }
            if lo.as_slice() >= &t_hi[..] {
                continue;
            }
            if !below(&t_lo, to) {
                break;
            }
            if lo.as_slice() < &t_lo[..] {
                parts.push(sled_part(lo.clone(), Some(t_lo.to_vec())));
                lo = t_lo.to_vec();
            }
            let end = match to {
                Some(to) if to < &t_hi[..] => to,
                _ => &t_hi[..],
            };
            if let Err(e) = self.build_memory() {
                parts.push(Box::new(std::iter::once(Err(e))));
                break;
            }
            parts.push(Box::new(
                self.memory
                    .range(&lo, Some(end))
                    .map(|(k, v)| Ok((Val(k), Val(v)))),
            ));
            lo = t_hi.to_vec();
        }
        if below(&lo, to) {
            parts.push(sled_part(lo, to.map(|t| t.to_vec())));
        }
        (parts.into_iter())
            .reduce(|a, b| Box::new(a.chain(b)))
            .unwrap_or_else(|| Box::new(std::iter::empty()))
    }
}

impl delta::Entry for Result<(Val, Val)> {
    fn key(&self) -> Option<&[u8]> {
        self.as_ref().ok().map(|(k, _)| &k[..])
    }
    fn held(k: &delta::Key) -> Self {
        Ok((
            Val(sled::IVec::from(delta::bytes(k))),
            Val(sled::IVec::default()),
        ))
    }
}
