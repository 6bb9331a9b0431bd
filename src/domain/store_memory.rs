//! The store's tables kept in memory rather than in sled: the balance `B` and last-activity
//! `L` indexes. Each is one key per member (`schema::balance_key`,
//! `sort_index::activity_key`: 17 bytes, no value), a function of the member's account, so
//! the store builds them from the accounts after it opens (`Tables::ensure_built`) and
//! keeps them in step as it applies writes. In sled, each account change cost four
//! scattered key writes (the old entries removed, the new put) of the sixteen or so a deal
//! makes; 200k deals (`onepoint-bench ingest --members 100000 --deals 200000`), 6 runs each
//! alternated in two sets: 10,539-14,391 deals/s (median 13,385) with them in sled,
//! 13,732-15,993 (15,206) in memory; 256-310 and 248-269 bytes on disk per deal. The writer
//! and the log see no difference: the writes are in each command's write set and log record
//! as before (so `check`'s replay and the log tail applied on open are unchanged); only
//! where `Store` puts them is.
//!
//! Readers see them as any table (`Store::get_val`, `range`, `scan_prefix`), with the same
//! rule as sled's: what the apply thread has applied, which is durable. A range is read a
//! chunk at a time under the lock, so a long scan never holds the apply thread off for long.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::super::error::{Error, Result};
use super::super::model::Account;
use super::super::packed_set::PackedSet;
use super::super::schema::{ACCOUNT, BALANCE, balance_key, read_u64};
use super::super::sort_index::activity_key;

#[path = "store_memory_iter.rs"]
mod iter;

/// The tables kept in memory, ascending.
pub const TABLES: [u8; 2] = [BALANCE, super::super::schema::ACTIVITY];

/// Every key of these tables: the tag and two big-endian u64.
pub const KEY_LEN: usize = 17;
pub type MemKey = [u8; KEY_LEN];

/// A key's place: its tag and its two numbers as one `u128` (big-endian), which sort as
/// the key's bytes do and compare as integers; as bytes, every comparison was a `memcmp`
/// call, and a deal makes four inserts and removes (`perf`: 7-9% of the apply thread).
/// Each table is a set of the `u128`s alone, packed (`PackedSet`: sorted blocks of
/// differences, about 5 bytes a key). At 1M members (2M keys) the tables took 58 MB as
/// one `BTreeSet` of (tag, u64, u64), 39 MB as a `BTreeSet<u128>` per table, and take
/// about 11 MB so.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Held(u8, u128);

impl From<MemKey> for Held {
    fn from(k: MemKey) -> Held {
        Held(
            k[0],
            u128::from_be_bytes(k[1..].try_into().expect("16 bytes")),
        )
    }
}

impl Held {
    fn bytes(self) -> MemKey {
        let mut k = [0u8; KEY_LEN];
        k[0] = self.0;
        k[1..].copy_from_slice(&self.1.to_be_bytes());
        k
    }
}

/// The set of the table a tag names (`TABLES`), if it is one.
fn slot(tag: u8) -> Option<usize> {
    TABLES.iter().position(|&t| t == tag)
}

/// Entries read under the lock at a time by an iterator.
const CHUNK: usize = 256;

/// Whether a key belongs to a table kept in memory.
pub fn is_memory_key(key: &[u8]) -> bool {
    key.first().is_some_and(|t| TABLES.contains(t))
}

/// The in-memory tables, shared with their iterators. Built from the accounts on first
/// use (`ensure_built`; the core starts it on a thread of its own as it opens, so opening
/// does not wait for it); until then the writes applied are kept aside (`State::since`)
/// and replayed on what the build read.
#[derive(Clone, Default)]
pub struct Tables {
    state: Arc<RwLock<State>>,
    /// Held by the one build running.
    building: Arc<Mutex<()>>,
}

#[derive(Default)]
struct State {
    /// One set per table, in the order of `TABLES`.
    sets: [PackedSet; 2],
    built: bool,
    /// Writes applied while not built, in order.
    since: Vec<Op>,
}

/// One write to an in-memory table (`true`: put).
pub type Op = (MemKey, bool);

/// A key of an in-memory table, checked: the write path makes every one 17 bytes.
pub fn mem_key(key: &[u8]) -> Result<MemKey> {
    MemKey::try_from(key).map_err(|_| {
        Error::store(format!(
            "a {} index key of {} bytes (every one has {KEY_LEN})",
            key[0] as char,
            key.len()
        ))
    })
}

/// The entries a member's account gives: its balance and last-activity keys.
pub fn entries_of(member: u64, a: &Account) -> [Vec<u8>; 2] {
    [
        balance_key(a.balance, member),
        activity_key(a.last_activity, member),
    ]
}

/// Applies a pass's writes, each table's at once (`PackedSet::apply_many`: a block
/// decoded and encoded once however many of them it takes).
fn apply_to(sets: &mut [PackedSet; 2], ops: &[Op]) {
    let mut by_table: [Vec<(u128, bool)>; 2] = Default::default();
    for &(k, put) in ops {
        let Held(tag, n) = Held::from(k);
        // `mem_key` is only ever given keys of these tables (`is_memory_key`).
        let Some(i) = slot(tag) else {
            debug_assert!(false, "a key of table {} kept in memory", tag as char);
            continue;
        };
        by_table[i].push((n, put));
    }
    for (set, ops) in sets.iter_mut().zip(&by_table) {
        if !ops.is_empty() {
            set.apply_many(ops);
        }
    }
}

impl Tables {
    /// Applies writes, as sled starts on the rest of their batch (`Store::write`: readers
    /// of sled wait for the whole batch, so a read of the accounts that starts after these
    /// are kept aside sees the batch whole).
    pub fn apply(&self, ops: &[Op]) {
        if ops.is_empty() {
            return;
        }
        let mut st = self.state.write();
        if st.built {
            apply_to(&mut st.sets, ops);
        } else {
            st.since.extend_from_slice(ops);
        }
    }

    /// Forgets the tables (after sled was reopened from disk): the next use builds them.
    pub fn reset(&self) {
        let _b = self.building.lock();
        *self.state.write() = State::default();
    }

    /// Builds the tables unless they are: `accounts` gives sled's `A` entries in order,
    /// read after this is called. A write applied to sled before the read started shows in
    /// the accounts; one applied after it is among the writes kept aside, and replaying it
    /// leaves the entry its latest account gives whatever the read saw (each is a remove
    /// of the old entry and a put of the new).
    pub fn ensure_built<I>(&self, accounts: impl FnOnce() -> I) -> Result<()>
    where
        I: Iterator<Item = Result<(Vec<u8>, sled::IVec)>>,
    {
        if self.state.read().built {
            return Ok(());
        }
        let _b = self.building.lock();
        {
            let mut st = self.state.write();
            if st.built {
                return Ok(());
            }
            st.since.clear();
        }
        // What the build frees (the keys gathered, sled's pages of accounts read and let
        // go) goes back to the system at once: 1M members took 227 MB more after the
        // first page by balance than before it, 45 MB of it the gathered keys kept by
        // the allocator after they were freed (`onepoint-bench open`).
        let _purge = super::super::memory::PurgeAtOnce::start();
        // Gathered, sorted, then packed in one pass: inserted one at a time, in the
        // accounts' order, which is random by balance, the 200k keys of 100k members took
        // 60% of the first page by balance on a 10M-deal store (`perf`, as a `BTreeSet`).
        let mut keys: [Vec<u128>; 2] = Default::default();
        for r in accounts() {
            let (k, v) = r?;
            if k.first() != Some(&ACCOUNT) || k.len() != 9 {
                continue;
            }
            let a = crate::domain::ledger::account_in(&v)?;
            for (i, e) in entries_of(read_u64(&k, 1), &a).iter().enumerate() {
                keys[i].push(Held::from(mem_key(e)?).1);
            }
        }
        let mut sets = keys.map(|mut k| {
            k.sort_unstable();
            // One key per member and table: a repeat would be a broken account scan.
            k.dedup();
            PackedSet::from_sorted(&k).expect("sorted and distinct")
        });
        let mut st = self.state.write();
        let since = std::mem::take(&mut st.since);
        apply_to(&mut sets, &since);
        st.sets = sets;
        st.built = true;
        Ok(())
    }

    /// The keys the tables hold and the bytes they take on the heap (0 before the build).
    pub fn size(&self) -> (usize, usize) {
        let st = self.state.read();
        st.sets
            .iter()
            .fold((0, 0), |(n, b), s| (n + s.len(), b + s.heap_bytes()))
    }

    /// Whether the key is there (the tables built).
    pub fn contains(&self, key: &[u8]) -> bool {
        MemKey::try_from(key).is_ok_and(|k| {
            let Held(tag, n) = Held::from(k);
            slot(tag).is_some_and(|i| self.state.read().sets[i].contains(n))
        })
    }
}

impl super::Store {
    /// Builds the balance and last-activity indexes from the accounts unless they are
    /// (`store_memory.rs`): the first read of either does, and the core has a thread of
    /// its own do it as it opens, so the read seldom waits. 100k members: about 60-130 ms.
    pub fn build_memory(&self) -> Result<()> {
        self.memory.ensure_built(|| {
            self.scan_prefix(&[ACCOUNT])
                .map(|r| r.map(|(k, v)| (k.0.to_vec(), v.0)))
        })
    }

    /// A store written before the balance and last-activity indexes moved to memory holds
    /// them in sled: removed once, when such a store is opened (never read: a failure, such
    /// as a full disk, only leaves them for the next open).
    pub(super) fn drop_memory_tables_from_sled(&self) {
        let removed = self.with_db(|db| {
            let mut n = 0u64;
            for t in TABLES {
                loop {
                    let mut batch = sled::Batch::default();
                    let mut any = false;
                    for r in db.scan_prefix([t]).keys().take(4096) {
                        batch.remove(r?);
                        any = true;
                        n += 1;
                    }
                    if !any {
                        break;
                    }
                    db.apply_batch(batch)?;
                }
            }
            Ok(n)
        });
        match removed.and_then(|n| if n > 0 { self.sync().map(|_| n) } else { Ok(0) }) {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!("moved the balance and activity indexes to memory ({n} entries)")
            }
            Err(e) => tracing::warn!("cannot drop the old balance and activity indexes: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(member: u64, balance: i64) -> (Vec<u8>, sled::IVec) {
        let a = crate::domain::model::MemberRecord {
            account: Account {
                balance: super::super::super::money::Points(balance),
                ..Default::default()
            },
            ..Default::default()
        };
        (
            super::super::super::schema::key1(ACCOUNT, member),
            super::super::super::schema::encode(&a).into(),
        )
    }

    fn balances(t: &Tables) -> Vec<(u64, u64)> {
        t.range(b"B", Some(b"C"))
            .map(|(k, _)| (read_u64(&k, 1), read_u64(&k, 9)))
            .collect()
    }

    #[test]
    fn writes_applied_before_and_while_the_build_reads_the_accounts_are_not_lost() {
        let t = Tables::default();
        let b = |bal: i64, m: u64| {
            mem_key(&balance_key(super::super::super::money::Points(bal), m)).unwrap()
        };
        // Before the build: kept aside, and already in the accounts it reads.
        t.apply(&[(b(0, 1), false), (b(10, 1), true)]);
        let during = t.clone();
        t.ensure_built(|| {
            let mut rows = vec![account(1, 10), account(2, 5), account(3, 30)].into_iter();
            let mut n = 0;
            std::iter::from_fn(move || {
                n += 1;
                if n == 2 {
                    // Member 1 (read already) and member 3 (not yet) change meanwhile.
                    during.apply(&[(b(10, 1), false), (b(20, 1), true)]);
                    during.apply(&[(b(30, 3), false), (b(40, 3), true)]);
                }
                rows.next().map(|r| {
                    if r.0 == super::super::super::schema::key1(ACCOUNT, 3) {
                        Ok(account(3, 40))
                    } else {
                        Ok(r)
                    }
                })
            })
        })
        .unwrap();
        assert_eq!(balances(&t), vec![(5, 2), (20, 1), (40, 3)]);
        // Built: writes go straight in.
        t.apply(&[(b(5, 2), false), (b(7, 2), true)]);
        assert_eq!(balances(&t), vec![(7, 2), (20, 1), (40, 3)]);
        // Reset (sled reopened): built again from what the accounts say.
        t.reset();
        t.ensure_built(|| vec![Ok(account(1, 1))].into_iter())
            .unwrap();
        assert_eq!(balances(&t), vec![(1, 1)]);
    }
}
