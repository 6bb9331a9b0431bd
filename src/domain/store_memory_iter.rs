//! Reading the in-memory tables: a range of keys, a chunk at a time under the lock, from
//! either end (`Tables::range`, `MemIter`).

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::RwLock;

use super::{CHUNK, Held, KEY_LEN, State, TABLES, Tables};

impl Tables {
    /// The keys with `from <= key < to` (`to`: `None` for no end), in either direction
    /// (the tables built).
    pub fn range(&self, from: &[u8], to: Option<&[u8]>) -> MemIter {
        let (lo, hi) = range_of(from, to);
        MemIter {
            tables: self.state.clone(),
            lo,
            hi,
            front: VecDeque::new(),
            back: VecDeque::new(),
        }
    }
}

/// Byte bounds as bounds on 17-byte keys (a key shorter than the bound is padded with
/// zeros, a longer one cut: the same keys pass either way).
fn range_of(from: &[u8], to: Option<&[u8]>) -> (Bound<Held>, Bound<Held>) {
    let fit = |b: &[u8]| {
        let mut k = [0u8; KEY_LEN];
        let n = b.len().min(KEY_LEN);
        k[..n].copy_from_slice(&b[..n]);
        (Held::from(k), b.len() > KEY_LEN)
    };
    let lo = match fit(from) {
        (k, true) => Bound::Excluded(k),
        (k, false) => Bound::Included(k),
    };
    let hi = match to.map(fit) {
        None => Bound::Unbounded,
        Some((k, true)) => Bound::Included(k),
        Some((k, false)) => Bound::Excluded(k),
    };
    (lo, hi)
}

/// Keys of an in-memory range, read a chunk at a time from either end; what is left to
/// read is `lo..hi`, what was read and not yet returned waits in `front` (ascending) or
/// `back` (descending).
pub struct MemIter {
    tables: Arc<RwLock<State>>,
    lo: Bound<Held>,
    hi: Bound<Held>,
    front: VecDeque<Held>,
    back: VecDeque<Held>,
}

fn empty(lo: &Bound<Held>, hi: &Bound<Held>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b))
        | (Bound::Excluded(a), Bound::Excluded(b)) => a >= b,
        _ => false,
    }
}

/// One bound of a range as a bound on table `tag`'s numbers: none (`Unbounded`) when it
/// lies in a table past `tag` on its open side (`open`: `Less` for a low bound, `Greater`
/// for a high one), `None` when it shuts the table out.
fn bound_in(b: Bound<Held>, tag: u8, open: std::cmp::Ordering) -> Option<Bound<u128>> {
    let (Bound::Included(Held(t, _)) | Bound::Excluded(Held(t, _))) = b else {
        return Some(Bound::Unbounded);
    };
    match t.cmp(&tag) {
        std::cmp::Ordering::Equal => Some(b.map(|Held(_, n)| n)),
        side if side == open => Some(Bound::Unbounded),
        _ => None,
    }
}

/// The part of `lo..hi` in table `tag`, as bounds on its numbers; `None` if none is.
fn table_range(lo: &Bound<Held>, hi: &Bound<Held>, tag: u8) -> Option<(Bound<u128>, Bound<u128>)> {
    Some((
        bound_in(*lo, tag, std::cmp::Ordering::Less)?,
        bound_in(*hi, tag, std::cmp::Ordering::Greater)?,
    ))
}

impl MemIter {
    /// Reads the next chunk from the front (or the back): from the first table, in that
    /// direction, with a key left in `lo..hi`; a table with none left is stepped over by
    /// moving the bound past it.
    fn fill(&mut self, forward: bool) {
        let st = self.tables.read();
        let mut order: [usize; TABLES.len()] = std::array::from_fn(|i| i);
        if !forward {
            order.reverse();
        }
        for i in order {
            // Checked before each table: a crossed range has nothing left.
            if empty(&self.lo, &self.hi) {
                return;
            }
            let tag = TABLES[i];
            let Some((lo, hi)) = table_range(&self.lo, &self.hi, tag) else {
                continue;
            };
            let mut keys = Vec::with_capacity(CHUNK);
            st.sets[i].range_into(lo, hi, forward, CHUNK, &mut keys);
            let keys = keys.into_iter().map(|n| Held(tag, n));
            if forward {
                self.front.extend(keys);
                match self.front.back() {
                    Some(k) => {
                        self.lo = Bound::Excluded(*k);
                        return;
                    }
                    None => self.lo = Bound::Excluded(Held(tag, u128::MAX)),
                }
            } else {
                self.back.extend(keys);
                match self.back.back() {
                    Some(k) => {
                        self.hi = Bound::Excluded(*k);
                        return;
                    }
                    None => self.hi = Bound::Excluded(Held(tag, 0)),
                }
            }
        }
    }
}

fn entry(k: Held) -> (sled::IVec, sled::IVec) {
    (sled::IVec::from(&k.bytes()[..]), sled::IVec::default())
}

impl MemIter {
    /// The next key from the front (`forward`) or the back: from the chunk that end read
    /// (filled first if empty), else, nothing being left between the two ends, the far
    /// end of what the other end read.
    fn next_from(&mut self, forward: bool) -> Option<(sled::IVec, sled::IVec)> {
        let near_empty = if forward {
            self.front.is_empty()
        } else {
            self.back.is_empty()
        };
        if near_empty {
            self.fill(forward);
        }
        let (near, far) = if forward {
            (&mut self.front, &mut self.back)
        } else {
            (&mut self.back, &mut self.front)
        };
        near.pop_front().or_else(|| far.pop_back()).map(entry)
    }
}

impl Iterator for MemIter {
    type Item = (sled::IVec, sled::IVec);
    fn next(&mut self) -> Option<Self::Item> {
        self.next_from(true)
    }
}

impl DoubleEndedIterator for MemIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.next_from(false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MemKey, Op};
    use super::*;
    use crate::domain::schema::read_u64;

    fn key(t: u8, a: u64, b: u64) -> MemKey {
        let mut k = [0u8; KEY_LEN];
        k[0] = t;
        k[1..9].copy_from_slice(&a.to_be_bytes());
        k[9..].copy_from_slice(&b.to_be_bytes());
        k
    }

    fn tables(n: u64) -> Tables {
        let t = Tables::default();
        t.ensure_built(std::iter::empty).unwrap();
        let ops: Vec<Op> = (0..n)
            .flat_map(|i| [(key(b'B', i % 7, i), true), (key(b'L', i, i), true)])
            .collect();
        t.apply(&ops);
        t
    }

    fn ids(it: impl Iterator<Item = (sled::IVec, sled::IVec)>) -> Vec<u64> {
        it.map(|(k, _)| read_u64(&k, 9)).collect()
    }

    #[test]
    fn a_range_read_from_both_ends_meets_in_the_middle_without_a_gap_or_a_repeat() {
        let t = tables(1000);
        let all = ids(t.range(b"L", Some(b"M")));
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        let rev: Vec<u64> = ids(t.range(b"L", Some(b"M")).rev());
        assert_eq!(rev, (0..1000).rev().collect::<Vec<_>>());
        // Alternating ends, each taking chunks: every key once.
        for step in [1, 3, 255, 256, 257, 999] {
            let mut it = t.range(b"L", Some(b"M"));
            let (mut lo, mut hi) = (Vec::new(), Vec::new());
            loop {
                let a: Vec<_> = it.by_ref().take(step).collect();
                let b: Vec<_> = it.by_ref().rev().take(step).collect();
                if a.is_empty() && b.is_empty() {
                    break;
                }
                lo.extend(ids(a.into_iter()));
                hi.extend(ids(b.into_iter()));
            }
            hi.reverse();
            lo.extend(hi);
            assert_eq!(lo, (0..1000).collect::<Vec<_>>(), "step {step}");
        }
        // Over both tables (each its own set): every key once, in byte order, from
        // either end and from both, meeting in either table or between them.
        let mut both: Vec<MemKey> = (0..1000)
            .flat_map(|i| [key(b'B', i % 7, i), key(b'L', i, i)])
            .collect();
        both.sort();
        let all_keys = |it: &mut MemIter, n: usize, back: bool| -> Vec<MemKey> {
            let take =
                |x: Option<(sled::IVec, sled::IVec)>| x.map(|(k, _)| k[..].try_into().unwrap());
            (0..n)
                .map_while(|_| take(if back { it.next_back() } else { it.next() }))
                .collect()
        };
        for step in [1, 255, 256, 700, 999, 1000, 1001, 1999, 2000, 2001] {
            let mut it = t.range(b"", None);
            let (mut lo, mut hi) = (Vec::new(), Vec::new());
            loop {
                let a = all_keys(&mut it, step, false);
                let b = all_keys(&mut it, 3 * step / 2, true);
                if a.is_empty() && b.is_empty() {
                    break;
                }
                lo.extend(a);
                hi.extend(b);
            }
            hi.reverse();
            lo.extend(hi);
            assert_eq!(lo, both, "step {step}");
        }
        let mut it = t.range(b"A", Some(b"M"));
        assert_eq!(all_keys(&mut it, 5000, true).len(), 2000);
    }

    #[test]
    fn bounds_of_any_length_select_the_same_keys_as_byte_order() {
        let t = tables(100);
        let all: Vec<MemKey> = t
            .range(b"", None)
            .map(|(k, _)| k[..].try_into().unwrap())
            .collect();
        assert_eq!(all.len(), 200);
        let probes: Vec<Vec<u8>> = vec![
            vec![],
            b"B".to_vec(),
            b"C".to_vec(),
            b"L".to_vec(),
            key(b'B', 3, 0)[..9].to_vec(),
            key(b'B', 3, 40).to_vec(),
            [key(b'B', 3, 40).to_vec(), vec![0]].concat(),
            key(b'L', 50, 50)[..12].to_vec(),
            vec![0xff; 20],
        ];
        for from in &probes {
            for to in &probes {
                let want: Vec<MemKey> = all
                    .iter()
                    .filter(|k| k[..] >= from[..] && k[..] < to[..])
                    .copied()
                    .collect();
                let got: Vec<MemKey> = t
                    .range(from, Some(to))
                    .map(|(k, _)| k[..].try_into().unwrap())
                    .collect();
                assert_eq!(got, want, "{from:?}..{to:?}");
            }
        }
    }

    /// The tables hold keys as numbers (`Held`): they come back in the order of their
    /// bytes and as the same bytes, over the whole range of both numbers.
    #[test]
    fn keys_come_back_in_byte_order_over_the_whole_range() {
        let edges = [
            0,
            1,
            255,
            256,
            1 << 32,
            (1 << 63) - 1,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut keys: Vec<MemKey> = Vec::new();
        for t in [b'B', b'L'] {
            for a in edges {
                for b in edges {
                    keys.push(key(t, a, b));
                }
            }
        }
        let t = Tables::default();
        t.ensure_built(std::iter::empty).unwrap();
        // Put in an order of their own (reversed by the last byte, then the rest).
        let mut shuffled = keys.clone();
        shuffled.sort_by_key(|k| (std::cmp::Reverse(k[16]), k[8]));
        let ops: Vec<Op> = shuffled.iter().map(|k| (*k, true)).collect();
        t.apply(&ops);
        keys.sort();
        let got: Vec<MemKey> = (t.range(b"", None))
            .map(|(k, _)| k[..].try_into().unwrap())
            .collect();
        assert_eq!(got, keys);
        let back: Vec<MemKey> = (t.range(b"", None).rev())
            .map(|(k, _)| k[..].try_into().unwrap())
            .collect();
        assert_eq!(back, keys.iter().rev().copied().collect::<Vec<_>>());
        let middle = key(b'B', 1 << 63, 0);
        let from_middle = t.range(&middle, Some(b"C")).count();
        assert_eq!(
            from_middle,
            keys.iter()
                .filter(|k| k[..] >= middle[..] && k[0] == b'B')
                .count()
        );
        assert!(t.contains(&key(b'L', u64::MAX, 1 << 63)));
        assert!(!t.contains(&key(b'L', u64::MAX, 2)));
    }

    #[test]
    fn a_write_applied_while_a_range_is_read_is_seen_once_it_is_past_the_chunk_read() {
        let t = tables(1000);
        let mut it = t.range(b"L", Some(b"M"));
        assert_eq!(ids(it.by_ref().take(10)), (0..10).collect::<Vec<_>>());
        t.apply(&[(key(b'L', 5000, 5000), true), (key(b'L', 999, 999), false)]);
        let rest = ids(it);
        assert_eq!(rest.last(), Some(&5000));
        assert!(!rest.contains(&999));
    }
}
