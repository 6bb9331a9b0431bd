//! The deals' three scattered indexes, held back from sled and moved to it in key order:
//! deals by points (`P`), by member (`V`) and by merchant and month (`X`). Each deal puts
//! one key in each, at a place of its own in the table (a random leaf), and sled copies a
//! whole leaf (up to 256 entries, `LEAF_ENTRIES` in `store.rs`) for every write to it: at
//! 300k deals a build that wrote none of them ran 45% faster. So the apply thread puts
//! their writes in an ordered map here (`Delta`), and when it holds `round_keys` keys it
//! moves them all to sled, in key order, a chunk of `chunk_keys` in each of its next
//! batches (a "round"): a leaf gets many keys in one copy.
//!
//! What a read sees: the map's state of a key if it holds one, else sled's. A key leaves
//! the map only once sled holds the value the map has for it, so that is always the
//! latest applied write. A range read takes the map's part of the range first, then reads
//! sled (`Store::entries`): a key moved to sled after the first part was taken was in
//! sled before the second started, so no key is missed.
//!
//! What a crash keeps: sled's key `Cdelta` (`MARK`) says up to which log record these
//! tables are in sled. A round records, when it starts, the last record applied, and
//! writes that as the mark with its last chunk: every key it moved holds its state as of
//! then or later, and keys it did not move held theirs in sled already. The log keeps its
//! records from the mark on (`Store::checkpoint`), and opening applies them again, these
//! tables' writes alone for records sled's own mark (`Cwal`) covers: a record holds final
//! values (a key put or removed), so applying a stretch of the log again, in order, to
//! its end, leaves every key as the log last wrote it.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard, RwLock};

use super::super::schema::{DEAL_POINTS, VIEW, VIEW_MERCHANT};

/// sled's key holding the log record up to which these tables are in sled (u64 BE).
pub const MARK: &[u8] = b"Cdelta";

/// The tables held back, ascending, with the length of every key of each: the tag, then
/// points and deal (`P`), member and deal (`V`), merchant, month and deal (`X`).
const TABLES: [(u8, usize); 3] = [(DEAL_POINTS, 17), (VIEW, 17), (VIEW_MERCHANT, 21)];

/// A key held back, padded with zeros to the longest (keys of a table all have one
/// length, so the padded keys sort as the keys do).
pub const KEY_LEN: usize = 21;
pub type Key = [u8; KEY_LEN];

/// Keys held before a round starts, by default: about 16k deals' writes, ~1.5 MB.
pub const ROUND_KEYS: usize = 48 * 1024;

/// The length of table `tag`'s keys, if it is held back.
fn key_len(tag: u8) -> Option<usize> {
    TABLES.iter().find(|t| t.0 == tag).map(|t| t.1)
}

/// Whether a key belongs to a table held back.
pub fn is_delta_key(key: &[u8]) -> bool {
    key.first().is_some_and(|t| key_len(*t).is_some())
}

/// Whether the range `from..to` (`None`: no end) holds keys of a table held back.
pub fn overlaps(from: &[u8], to: Option<&[u8]>) -> bool {
    TABLES.iter().any(|&(t, _)| {
        let (lo, hi) = ([t], [t + 1]);
        to.is_none_or(|to| to > &lo[..]) && from < &hi[..]
    })
}

/// A write to a table held back as it is kept (`true`: put), if it is one the write path
/// makes: a key of the table's length and no value. Any other is written to sled as it
/// is (`Store::write`).
pub fn fit(key: &[u8], value: Option<&[u8]>) -> Option<(Key, bool)> {
    let len = key_len(*key.first()?)?;
    if key.len() != len || value.is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let mut k = [0u8; KEY_LEN];
    k[..len].copy_from_slice(key);
    Some((k, value.is_some()))
}

/// A held key's bytes.
pub fn bytes(k: &Key) -> &[u8] {
    &k[..key_len(k[0]).unwrap_or(KEY_LEN)]
}

/// The writes held back, and the progress of moving them to sled.
pub struct Delta {
    map: Arc<RwLock<Map>>,
    /// Held by whoever moves keys to sled or applies writes (the apply thread's `write`,
    /// a whole flush): one at a time, and the map's `seq` stays put meanwhile.
    flush: Mutex<Flush>,
    round_keys: usize,
    chunk_keys: usize,
}

#[derive(Default)]
struct Map {
    keys: BTreeMap<Key, bool>,
    /// The last log record whose writes are in the map (or in sled).
    seq: u64,
}

/// See `Delta::flush`.
pub struct Flush {
    /// The mark sled holds (`None`: none yet; these tables were all in sled then).
    pub mark: Option<u64>,
    /// The round under way: the record it started at and the last key it moved.
    round: Option<(u64, Option<Key>)>,
    /// No round starts (while the store opens: `Delta::start_rounds`).
    paused: bool,
}

/// What one batch moves to sled: a chunk of a round, and the mark to write with it when
/// it is the round's last.
pub struct Chunk {
    pub writes: Vec<(Key, bool)>,
    pub mark: Option<u64>,
}

impl Delta {
    /// Empty, holding these tables' writes up to log record `seq` (sled holds them),
    /// `mark` being the mark sled holds; no round starts until `start_rounds`: the log
    /// applied again as the store opens stays in the map, so the open reads none of
    /// these tables' leaves (at 2.5M deals, moving them as it went made an open after a
    /// kill take 232-627 ms, not 213-265, and 116-148 MB, not 16-25).
    pub fn new(seq: u64, mark: Option<u64>, round_keys: usize) -> Delta {
        let round_keys = round_keys.max(1);
        Delta {
            map: Arc::new(RwLock::new(Map {
                keys: BTreeMap::new(),
                seq,
            })),
            flush: Mutex::new(Flush {
                mark,
                round: None,
                paused: true,
            }),
            round_keys,
            // A batch carries at most 512 held keys: at 1M deals, 2048 a batch made the
            // batches of a round slow to write (p99 ack 12.4-13.1 ms, not 7.4-7.9).
            chunk_keys: (round_keys / 64).clamp(16, 512),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Flush> {
        self.flush.lock()
    }

    /// Rounds start from now on, once the map holds enough keys.
    pub fn start_rounds(&self) {
        self.flush.lock().paused = false;
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.map.read().keys.len()
    }

    /// The last log record whose writes the map holds (with sled).
    pub fn seq(&self, _held: &Flush) -> u64 {
        self.map.read().seq
    }

    /// A key's state if the map holds it (`true`: put).
    pub fn get(&self, key: &[u8]) -> Option<bool> {
        let (k, _) = fit(key, Some(&[]))?;
        self.map.read().keys.get(&k).copied()
    }

    /// Applies a batch's writes to these tables, of log records up to `seq`.
    pub fn apply(&self, writes: &[(Key, bool)], seq: u64) {
        let mut map = self.map.write();
        for &(k, put) in writes {
            map.keys.insert(k, put);
        }
        map.seq = map.seq.max(seq);
    }

    /// The next chunk of the round under way, starting one if the map holds enough keys;
    /// `None` with no round.
    pub fn next_chunk(&self, f: &mut Flush) -> Option<Chunk> {
        let map = self.map.read();
        if f.round.is_none() && !f.paused && map.keys.len() >= self.round_keys {
            f.round = Some((map.seq, None));
        }
        let (start, after) = f.round?;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let writes: Vec<(Key, bool)> = (map.keys.range((from, Bound::Unbounded)))
            .take(self.chunk_keys)
            .map(|(k, v)| (*k, *v))
            .collect();
        let last = writes.len() < self.chunk_keys;
        Some(Chunk {
            writes,
            mark: last.then_some(start),
        })
    }

    /// Everything held, to move to sled at once with the mark `seq` (a whole flush).
    pub fn all(&self, _held: &Flush) -> Chunk {
        let map = self.map.read();
        Chunk {
            writes: map.keys.iter().map(|(k, v)| (*k, *v)).collect(),
            mark: Some(map.seq),
        }
    }

    /// sled holds `chunk` now: its keys the map still holds as written leave it; the
    /// round moves past it (and ends with its last chunk, or a whole flush).
    pub fn moved(&self, f: &mut Flush, chunk: &Chunk, whole: bool) {
        let mut map = self.map.write();
        for (k, put) in &chunk.writes {
            if map.keys.get(k) == Some(put) {
                map.keys.remove(k);
            }
        }
        drop(map);
        if let Some(mark) = chunk.mark {
            f.mark = Some(mark);
        }
        if whole || chunk.mark.is_some() {
            f.round = None;
        } else if let Some((_, after)) = &mut f.round
            && let Some((k, _)) = chunk.writes.last()
        {
            *after = Some(*k);
        }
    }

    /// Forgets every key (sled was given all of them otherwise: `Store::recover`).
    pub fn reset(&self, f: &mut Flush, seq: u64) {
        let mut map = self.map.write();
        map.keys.clear();
        map.seq = seq;
        f.mark = Some(seq);
        f.round = None;
    }

    /// The held keys with `from <= key < to` (`None`: no end), in key order: taken at
    /// once, so a key the map lets go of while the range is read is still seen.
    pub fn range(&self, from: &[u8], to: Option<&[u8]>) -> Vec<(Key, bool)> {
        let pad = |b: &[u8]| {
            let mut k = [0u8; KEY_LEN];
            let n = b.len().min(KEY_LEN);
            k[..n].copy_from_slice(&b[..n]);
            k
        };
        // Padded and cut, the bounds take in at least the keys the bytes do (see the
        // test); the bytes then decide.
        let (lo, hi) = (pad(from), to.map(pad));
        let map = self.map.read();
        let keys = match hi {
            Some(hi) if hi < lo => return Vec::new(),
            Some(hi) => map.keys.range(lo..=hi),
            None => map.keys.range(lo..),
        };
        keys.filter(|(k, _)| {
            let b = bytes(k);
            b >= from && to.is_none_or(|to| b < to)
        })
        .map(|(k, v)| (*k, *v))
        .collect()
    }

    /// The keys held and what sled's live count of them differs by: puts of keys sled
    /// lacks, less removals of keys it holds (`in_sled` tells).
    pub fn live_difference(&self, in_sled: impl Fn(&[u8]) -> bool) -> Vec<(u8, i64, i64)> {
        let map = self.map.read();
        let mut by: BTreeMap<u8, (i64, i64)> = BTreeMap::new();
        for (k, put) in &map.keys {
            let b = bytes(k);
            let d = match (put, in_sled(b)) {
                (true, false) => 1,
                (false, true) => -1,
                _ => 0,
            };
            let e = by.entry(k[0]).or_default();
            e.0 += d;
            e.1 += d * b.len() as i64;
        }
        by.into_iter().map(|(t, (n, b))| (t, n, b)).collect()
    }
}

/// A read of sled's entries of a range merged with the map's part of it (taken first):
/// the map's state of a key wins, a removal hiding sled's. From either end.
pub struct Merged<I: Iterator> {
    sled: I,
    held: std::vec::IntoIter<(Key, bool)>,
    sled_front: Option<I::Item>,
    sled_back: Option<I::Item>,
    held_front: Option<(Key, bool)>,
    held_back: Option<(Key, bool)>,
}

/// What the sled side yields: a key and value, or an error.
pub trait Entry {
    fn key(&self) -> Option<&[u8]>;
    fn held(k: &Key) -> Self;
}

impl<I, E> Merged<I>
where
    I: DoubleEndedIterator<Item = E>,
    E: Entry,
{
    pub fn new(held: Vec<(Key, bool)>, sled: I) -> Merged<I> {
        Merged {
            sled,
            held: held.into_iter(),
            sled_front: None,
            sled_back: None,
            held_front: None,
            held_back: None,
        }
    }

    /// The next entry from the front (`forward`) or the back: each side's next, taken
    /// from its far end's peek once nothing is left between the two.
    fn next_from(&mut self, forward: bool) -> Option<E> {
        use std::cmp::Ordering::{Equal, Greater, Less};
        loop {
            let (sled_near, sled_far, held_near, held_far) = if forward {
                (
                    &mut self.sled_front,
                    &mut self.sled_back,
                    &mut self.held_front,
                    &mut self.held_back,
                )
            } else {
                (
                    &mut self.sled_back,
                    &mut self.sled_front,
                    &mut self.held_back,
                    &mut self.held_front,
                )
            };
            if sled_near.is_none() {
                let next = if forward {
                    self.sled.next()
                } else {
                    self.sled.next_back()
                };
                *sled_near = next.or_else(|| sled_far.take());
            }
            if held_near.is_none() {
                let next = if forward {
                    self.held.next()
                } else {
                    self.held.next_back()
                };
                *held_near = next.or_else(|| held_far.take());
            }
            let order = match (&*sled_near, &*held_near) {
                (None, None) => return None,
                (Some(_), None) => Less,
                (None, Some(_)) => Greater,
                (Some(s), Some((h, _))) => match s.key() {
                    None => Less, // an error: passed on at once
                    Some(sk) => {
                        let o = sk.cmp(bytes(h));
                        if forward { o } else { o.reverse() }
                    }
                },
            };
            match order {
                Less => return sled_near.take(),
                Greater | Equal => {
                    if order == Equal {
                        sled_near.take();
                    }
                    let (k, put) = held_near.take().expect("compared");
                    if put {
                        return Some(E::held(&k));
                    }
                }
            }
        }
    }
}

impl<I, E> Iterator for Merged<I>
where
    I: DoubleEndedIterator<Item = E>,
    E: Entry,
{
    type Item = E;
    fn next(&mut self) -> Option<E> {
        self.next_from(true)
    }
}

impl<I, E> DoubleEndedIterator for Merged<I>
where
    I: DoubleEndedIterator<Item = E>,
    E: Entry,
{
    fn next_back(&mut self) -> Option<E> {
        self.next_from(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Entry for Result<Vec<u8>, ()> {
        fn key(&self) -> Option<&[u8]> {
            self.as_ref().ok().map(|k| k.as_slice())
        }
        fn held(k: &Key) -> Self {
            Ok(bytes(k).to_vec())
        }
    }

    fn v(member: u64, deal: u64) -> Vec<u8> {
        crate::domain::schema::key2(VIEW, member, deal)
    }

    fn held(keys: &[(Vec<u8>, bool)]) -> Vec<(Key, bool)> {
        let mut h: Vec<(Key, bool)> = keys
            .iter()
            .map(|(k, put)| fit(k, put.then_some(&[][..])).unwrap())
            .collect();
        h.sort();
        h
    }

    /// The merge of sled's keys and the held ones, read from both ends in steps of every
    /// size, is the model's set: each key once, a held removal hiding sled's key.
    #[test]
    fn a_merged_range_read_from_both_ends_is_the_held_state_over_sleds() {
        let sled: Vec<Vec<u8>> = (0..40).filter(|i| i % 3 != 0).map(|i| v(1, i)).collect();
        let writes: Vec<(Vec<u8>, bool)> = (0..40)
            .filter(|i| i % 4 == 0 || i % 5 == 0)
            .map(|i| (v(1, i), i % 8 != 0))
            .collect();
        let mut model: std::collections::BTreeSet<Vec<u8>> = sled.iter().cloned().collect();
        for (k, put) in &writes {
            if *put {
                model.insert(k.clone());
            } else {
                model.remove(k);
            }
        }
        let want: Vec<Vec<u8>> = model.into_iter().collect();
        let merged = || {
            let s: Vec<Result<Vec<u8>, ()>> = sled.iter().cloned().map(Ok).collect();
            Merged::new(held(&writes), s.into_iter())
        };
        let got: Vec<Vec<u8>> = merged().map(|r| r.unwrap()).collect();
        assert_eq!(got, want);
        let back: Vec<Vec<u8>> = merged().rev().map(|r| r.unwrap()).collect();
        assert_eq!(back, want.iter().rev().cloned().collect::<Vec<_>>());
        for step in 1..8 {
            let mut it = merged();
            let (mut lo, mut hi) = (Vec::new(), Vec::new());
            loop {
                let a: Vec<_> = it.by_ref().take(step).map(|r| r.unwrap()).collect();
                let b: Vec<_> = (0..step + 1).map_while(|_| it.next_back()).collect();
                if a.is_empty() && b.is_empty() {
                    break;
                }
                lo.extend(a);
                hi.extend(b.into_iter().map(|r| r.unwrap()));
            }
            hi.reverse();
            lo.extend(hi);
            assert_eq!(lo, want, "step {step}");
        }
    }

    #[test]
    fn padded_bounds_take_in_every_key_the_bytes_do() {
        let d = Delta::new(0, Some(0), 1 << 20);
        let mut keys = Vec::new();
        for m in [0u64, 1, 255, 256, u64::MAX] {
            for deal in [0u64, 1, u64::MAX] {
                keys.push(v(m, deal));
            }
        }
        let x = crate::domain::schema::KeyBuf::new(VIEW_MERCHANT)
            .u64(3)
            .u32(7)
            .u64(9)
            .done();
        keys.push(x.clone());
        let p = crate::domain::sort_index::deal_points_key(crate::domain::money::Points(5), 2);
        keys.push(p.clone());
        let ws: Vec<(Key, bool)> = keys.iter().map(|k| fit(k, Some(&[])).unwrap()).collect();
        d.apply(&ws, 1);
        keys.sort();
        let probes: Vec<Vec<u8>> = vec![
            vec![],
            b"P".to_vec(),
            b"V".to_vec(),
            v(1, 0)[..9].to_vec(),
            v(255, 1),
            [v(255, 1), vec![0]].concat(),
            v(256, 0)[..12].to_vec(),
            x[..13].to_vec(),
            [x.clone(), vec![0]].concat(),
            vec![b'X'; 30],
            vec![0xff; 30],
        ];
        for from in &probes {
            for to in &probes {
                let want: Vec<&Vec<u8>> = (keys.iter())
                    .filter(|k| k[..] >= from[..] && k[..] < to[..])
                    .collect();
                let got: Vec<Vec<u8>> = (d.range(from, Some(to)).iter())
                    .map(|(k, _)| bytes(k).to_vec())
                    .collect();
                assert_eq!(got.iter().collect::<Vec<_>>(), want, "{from:?}..{to:?}");
            }
            let open = d.range(from, None).len();
            assert_eq!(open, keys.iter().filter(|k| k[..] >= from[..]).count());
        }
        assert!(overlaps(b"P", Some(b"Q")) && overlaps(b"A", None));
        assert!(!overlaps(b"Y", None) && !overlaps(b"A", Some(b"P")));
        assert!(overlaps(b"W", Some(b"Y")) && !overlaps(b"Q", Some(b"V")));
    }

    /// A round moves every key held when it started, in key order, a chunk at a time; a
    /// key written again meanwhile stays held until sled has its latest state.
    #[test]
    fn a_round_moves_what_was_held_when_it_started_and_keeps_what_changed_since() {
        let d = Delta::new(0, Some(0), 64);
        let ws: Vec<(Key, bool)> = (0..64).map(|i| fit(&v(i, i), Some(&[])).unwrap()).collect();
        d.apply(&ws, 10);
        assert!(
            d.next_chunk(&mut d.lock()).is_none(),
            "none while the store opens"
        );
        d.start_rounds();
        let mut f = d.lock();
        let first = d.next_chunk(&mut f).expect("a round starts at 64 keys");
        assert_eq!(first.writes.len(), d.chunk_keys);
        assert_eq!(first.mark, None);
        // Written again after the chunk was taken: removed.
        d.apply(&[(first.writes[0].0, false)], 11);
        d.moved(&mut f, &first, false);
        assert_eq!(d.len(), 64 - d.chunk_keys + 1, "the changed key stays");
        assert_eq!(d.get(&v(0, 0)), Some(false));
        let mut chunks = 1;
        loop {
            let c = d.next_chunk(&mut f).expect("the round goes on");
            chunks += 1;
            let mark = c.mark;
            d.moved(&mut f, &c, false);
            if mark.is_some() {
                assert_eq!(mark, Some(10), "the round's start");
                break;
            }
        }
        assert_eq!(chunks, 64 / d.chunk_keys + 1);
        assert_eq!(f.mark, Some(10));
        assert_eq!(d.len(), 1);
        assert!(d.next_chunk(&mut f).is_none(), "no round under 64 keys");
        let all = d.all(&f);
        assert_eq!((all.writes.len(), all.mark), (1, Some(11)));
    }
}
