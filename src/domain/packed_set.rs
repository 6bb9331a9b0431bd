//! An ordered set of `u128` kept packed: the keys in sorted blocks of at most `BLOCK` keys,
//! each block its first key and the others as the difference from the key before, in a
//! few bytes. The store's in-memory indexes (`store_memory.rs`) are one per table: a key is
//! two numbers (a balance or a time, then a member id), and neighbours in a sorted table
//! are close. On 1M members, 2M keys took 39 MB as `BTreeSet<u128>` built in order (about
//! 19.5 bytes a key; 27 once random writes have split its nodes) where this takes about 6
//! bytes a key; the console's RSS on a 10M-deal store is bounded by 150 MB (issue 9.3).
//!
//! A key after the first of its block: its high half's difference from the key before
//! (LEB128); when that is 0, the low half's difference (never 0: keys are distinct), else
//! the low half itself. Changes to a block decode it, change the keys and encode it
//! again, once for all of a pass's changes to it (`apply_many`; at most `BLOCK` keys: well
//! under a microsecond); a block past `BLOCK` keys is split in near-equal blocks, one
//! under a quarter of it is merged into a neighbour that has room.

use std::collections::BTreeMap;
use std::ops::Bound;

/// The most keys a block holds.
const BLOCK: usize = 64;

/// Keys a block is built with from sorted keys: room for a few inserts before a split.
const BUILT: usize = BLOCK * 7 / 8;

/// A block: its keys after the first (which is the block's key in `PackedSet::blocks`),
/// encoded, and how many keys it holds, the first included.
#[derive(Clone, Debug)]
struct Block {
    rest: Box<[u8]>,
    len: u16,
}

/// The blocks by their first key: finding, splitting and merging one is a B-tree step,
/// not a shift of every block after it.
#[derive(Clone, Debug, Default)]
pub struct PackedSet {
    blocks: BTreeMap<u128, Block>,
    len: usize,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let byte = b[*at];
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// `keys` (ascending, at least one) as a block and its first key.
fn encode(keys: &[u128]) -> (u128, Block) {
    let mut rest = Vec::with_capacity(keys.len() * 4);
    for w in keys.windows(2) {
        let (a, b) = (w[0], w[1]);
        let dh = (b >> 64) as u64 - (a >> 64) as u64;
        put_varint(&mut rest, dh);
        put_varint(
            &mut rest,
            if dh == 0 {
                b as u64 - a as u64
            } else {
                b as u64
            },
        );
    }
    (
        keys[0],
        Block {
            rest: rest.into_boxed_slice(),
            len: keys.len() as u16,
        },
    )
}

/// Appends the keys of the block starting at `first`, ascending, to `out`.
fn decode_into(first: u128, b: &Block, out: &mut Vec<u128>) {
    out.reserve(usize::from(b.len));
    let mut k = first;
    out.push(k);
    let mut at = 0;
    while at < b.rest.len() {
        let dh = get_varint(&b.rest, &mut at);
        let lo = get_varint(&b.rest, &mut at);
        let hi = (k >> 64) as u64 + dh;
        let lo = if dh == 0 { k as u64 + lo } else { lo };
        k = (u128::from(hi) << 64) | u128::from(lo);
        out.push(k);
    }
}

fn keys_of(first: u128, b: &Block) -> Vec<u128> {
    let mut v = Vec::with_capacity(BLOCK + 1);
    decode_into(first, b, &mut v);
    v
}

/// Whether `k` lies below bound `b` (short of a low bound).
fn below(b: Bound<u128>, k: u128) -> bool {
    match b {
        Bound::Included(x) => k < x,
        Bound::Excluded(x) => k <= x,
        Bound::Unbounded => false,
    }
}

/// Whether `k` lies above bound `b` (past a high bound).
fn above(b: Bound<u128>, k: u128) -> bool {
    match b {
        Bound::Included(x) => k > x,
        Bound::Excluded(x) => k >= x,
        Bound::Unbounded => false,
    }
}

impl PackedSet {
    /// The set of `keys`, which must be ascending and distinct (what `ensure_built` gives
    /// after sorting); a key out of order is refused (`None`).
    pub fn from_sorted(keys: &[u128]) -> Option<PackedSet> {
        if keys.windows(2).any(|w| w[0] >= w[1]) {
            return None;
        }
        Some(PackedSet {
            blocks: keys.chunks(BUILT).map(encode).collect(),
            len: keys.len(),
        })
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The first key of the block `k` belongs in: the last block starting at or before
    /// `k`, else the first block. `None` when there is no block.
    fn block_of(&self, k: u128) -> Option<u128> {
        self.blocks
            .range(..=k)
            .next_back()
            .or_else(|| self.blocks.iter().next())
            .map(|(&f, _)| f)
    }

    pub fn contains(&self, k: u128) -> bool {
        match self.blocks.range(..=k).next_back() {
            Some((&f, b)) => keys_of(f, b).binary_search(&k).is_ok(),
            None => false,
        }
    }

    /// Adds `keys` (ascending, none of them in a block) as blocks of at most `BLOCK`,
    /// near-equal.
    fn put_parts(&mut self, keys: &[u128]) {
        if keys.is_empty() {
            return;
        }
        let parts = keys.len().div_ceil(BLOCK);
        for part in keys.chunks(keys.len().div_ceil(parts)) {
            let (f, b) = encode(part);
            self.blocks.insert(f, b);
        }
    }

    /// Adds `k`; false if it was there (one op of `apply_many`, for the tests).
    #[cfg(test)]
    pub fn insert(&mut self, k: u128) -> bool {
        let added = !self.contains(k);
        self.apply_many(&[(k, true)]);
        added
    }

    /// Takes `k` out; false if it was not there (as `insert`).
    #[cfg(test)]
    pub fn remove(&mut self, k: u128) -> bool {
        let there = self.contains(k);
        self.apply_many(&[(k, false)]);
        there
    }

    /// Applies puts (`true`) and removals, each key's in the order given, with one decode
    /// and one encode of each block they change, where `insert` and `remove` take one of
    /// each per key: the store's apply thread hands over a pass's writes to these tables
    /// at once (`store_memory.rs`), four a deal, and decoding and encoding blocks one key
    /// at a time was about 4% of the machine while ingesting (`perf`).
    pub fn apply_many(&mut self, ops: &[(u128, bool)]) {
        let mut ops = ops.to_vec();
        // Stable: a key's ops keep their order.
        ops.sort_by_key(|op| op.0);
        let mut keys = Vec::with_capacity(2 * BLOCK);
        let mut i = 0;
        while i < ops.len() {
            // The block the op's key belongs in (`block_of`) takes the ops up to the next
            // block's first key; with no block at all, one is made of every op left.
            let f = self.block_of(ops[i].0);
            let next = f.and_then(|f| self.blocks.range(f + 1..).next().map(|(&g, _)| g));
            let end = i + ops[i..].partition_point(|op| next.is_none_or(|g| op.0 < g));
            keys.clear();
            if let Some(f) = f {
                decode_into(f, &self.blocks[&f], &mut keys);
            }
            let before = keys.len();
            for &(k, put) in &ops[i..end] {
                match (keys.binary_search(&k), put) {
                    (Ok(at), false) => {
                        keys.remove(at);
                    }
                    (Err(at), true) => keys.insert(at, k),
                    _ => {}
                }
            }
            self.len = self.len + keys.len() - before;
            match f {
                Some(f) => self.replace_block(f, &keys),
                None => self.put_parts(&keys),
            }
            i = end;
        }
    }

    /// Puts `keys` (ascending, any number) in place of the block starting at `f`: in
    /// near-equal blocks of at most `BLOCK`, or, under a quarter of a block, merged into
    /// the smaller neighbour if the two fit in one.
    fn replace_block(&mut self, f: u128, keys: &[u128]) {
        self.blocks.remove(&f);
        if !keys.is_empty() && keys.len() < BLOCK / 4 {
            let left = self.blocks.range(..f).next_back();
            let right = self.blocks.range(f + 1..).next();
            let with = [left, right]
                .into_iter()
                .flatten()
                .filter(|(_, n)| usize::from(n.len) + keys.len() <= BLOCK)
                .min_by_key(|(_, n)| n.len)
                .map(|(&g, n)| (g, keys_of(g, n)));
            if let Some((g, theirs)) = with {
                self.blocks.remove(&g);
                let merged = if g < f {
                    [theirs, keys.to_vec()].concat()
                } else {
                    [keys.to_vec(), theirs].concat()
                };
                self.put_parts(&merged);
                return;
            }
        }
        self.put_parts(keys);
    }

    /// Appends to `out` at most `max` keys of `lo..hi`: the lowest ones, ascending
    /// (`forward`), or the highest ones, descending.
    pub fn range_into(
        &self,
        lo: Bound<u128>,
        hi: Bound<u128>,
        forward: bool,
        max: usize,
        out: &mut Vec<u128>,
    ) {
        // The blocks from the one holding the near end on: going up, the block holding
        // `lo` (the first block if none starts at or before it); going down, every block
        // starting at or before `hi`.
        let near = |b: Bound<u128>| match b {
            Bound::Included(k) | Bound::Excluded(k) => Some(k),
            Bound::Unbounded => None,
        };
        let mut blocks = if forward {
            match near(lo).and_then(|k| self.block_of(k)) {
                Some(f) => self.blocks.range(f..),
                None => self.blocks.range(..),
            }
        } else {
            match near(hi) {
                Some(k) => self.blocks.range(..=k),
                None => self.blocks.range(..),
            }
        };
        // Keys not reached yet are skipped; the first past the far end stops the read.
        type Side = fn(Bound<u128>, u128) -> bool;
        let (not_yet, past): (Side, Side) = if forward {
            (below, above)
        } else {
            (above, below)
        };
        let (near_end, far_end) = if forward { (lo, hi) } else { (hi, lo) };
        let mut keys = Vec::with_capacity(BLOCK + 1);
        let mut taken = 0;
        while let Some((&f, b)) = if forward {
            blocks.next()
        } else {
            blocks.next_back()
        } {
            keys.clear();
            decode_into(f, b, &mut keys);
            if !forward {
                keys.reverse();
            }
            for &k in &keys {
                if not_yet(near_end, k) {
                    continue;
                }
                if past(far_end, k) || taken == max {
                    return;
                }
                out.push(k);
                taken += 1;
            }
        }
    }

    /// The bytes the set holds on the heap: its encoded keys, and the map's entries (a
    /// first key and a block each, in B-tree nodes about two thirds full, estimated), for
    /// the tests and the bench.
    pub fn heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<u128>() + std::mem::size_of::<Block>();
        self.blocks.len() * entry * 3 / 2
            + self.blocks.values().map(|b| b.rest.len()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(s: &PackedSet) -> Vec<u128> {
        let mut v = Vec::new();
        s.range_into(Bound::Unbounded, Bound::Unbounded, true, usize::MAX, &mut v);
        v
    }

    fn check_blocks(s: &PackedSet) {
        let mut n = 0;
        for (&f, b) in &s.blocks {
            assert!(
                b.len > 0 && usize::from(b.len) <= BLOCK,
                "a block of {}",
                b.len
            );
            assert_eq!(keys_of(f, b).len(), usize::from(b.len));
            n += usize::from(b.len);
        }
        assert_eq!(n, s.len());
        let keys = all(s);
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "not ascending");
    }

    /// Keys as the indexes make them: a high half of a few values close together (and
    /// some far), a low half anything.
    fn key() -> impl Strategy<Value = u128> {
        (
            prop_oneof![0u64..64, any::<u64>()],
            prop_oneof![0u64..64, any::<u64>()],
        )
            .prop_map(|(h, l)| (u128::from(h) << 64) | u128::from(l))
    }

    /// For every other op (odd `i`), a key `model` holds (picked by `k`), so that removes
    /// find what they remove; else `k`.
    fn some_key_there(i: usize, k: u128, model: &std::collections::BTreeSet<u128>) -> u128 {
        if i % 2 == 1 && !model.is_empty() {
            *model.iter().nth(k as usize % model.len()).unwrap()
        } else {
            k
        }
    }

    fn bound() -> impl Strategy<Value = Bound<u128>> {
        prop_oneof![
            Just(Bound::Unbounded),
            key().prop_map(Bound::Included),
            key().prop_map(Bound::Excluded),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Inserts and removes (enough to split and merge blocks) against a `BTreeSet`:
        /// the same answers, the same keys, and every range from either end the same.
        #[test]
        fn the_set_answers_as_a_btreeset_does(
            start in prop::collection::btree_set(key(), 0..300),
            ops in prop::collection::vec((any::<bool>(), key()), 0..600),
            ranges in prop::collection::vec((bound(), bound(), 0usize..150), 8),
        ) {
            let start_keys: Vec<u128> = start.iter().copied().collect();
            let mut s = PackedSet::from_sorted(&start_keys).unwrap();
            let mut model = start.clone();
            // Half the ops act on keys already there, so removes find what they remove.
            for (i, (put, k)) in ops.into_iter().enumerate() {
                let k = some_key_there(i, k, &model);
                if put {
                    prop_assert_eq!(s.insert(k), model.insert(k));
                } else {
                    prop_assert_eq!(s.remove(k), model.remove(&k));
                }
                prop_assert_eq!(s.contains(k), model.contains(&k));
            }
            check_blocks(&s);
            prop_assert_eq!(all(&s), model.iter().copied().collect::<Vec<_>>());
            for (lo, hi, max) in ranges {
                let crossed = match (lo, hi) {
                    (Bound::Included(a), Bound::Included(b)) => a > b,
                    (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => a >= b,
                    _ => false,
                };
                let want: Vec<u128> = if crossed {
                    Vec::new()
                } else {
                    model.range((lo, hi)).copied().collect()
                };
                let mut fwd = Vec::new();
                s.range_into(lo, hi, true, max, &mut fwd);
                prop_assert_eq!(&fwd, &want.iter().copied().take(max).collect::<Vec<_>>());
                let mut back = Vec::new();
                s.range_into(lo, hi, false, max, &mut back);
                prop_assert_eq!(&back, &want.iter().rev().copied().take(max).collect::<Vec<_>>());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Puts and removals applied at once (`apply_many`: repeated keys, keys already
        /// there, runs into one block enough to split it many times, removals enough to
        /// empty and merge blocks) leave what applying them one by one leaves.
        #[test]
        fn ops_applied_at_once_leave_what_they_leave_one_by_one(
            start in prop::collection::btree_set(key(), 0..300),
            ops in prop::collection::vec((any::<bool>(), key()), 0..600),
            dense in prop::collection::vec(any::<bool>(), 0..400),
        ) {
            let start_keys: Vec<u128> = start.iter().copied().collect();
            let mut s = PackedSet::from_sorted(&start_keys).unwrap();
            let mut model = start.clone();
            let mut batch = Vec::new();
            for (i, (put, k)) in ops.into_iter().enumerate() {
                batch.push((some_key_there(i, k, &model), put));
            }
            // Keys packed close together, as the last-activity index takes new ones.
            for (i, put) in dense.into_iter().enumerate() {
                batch.push(((7u128 << 64) | (i as u128 / 2), put));
            }
            for &(k, put) in &batch {
                if put {
                    model.insert(k);
                } else {
                    model.remove(&k);
                }
            }
            s.apply_many(&batch);
            check_blocks(&s);
            prop_assert_eq!(all(&s), model.iter().copied().collect::<Vec<_>>());
            for &(k, _) in &batch {
                prop_assert_eq!(s.contains(k), model.contains(&k));
            }
        }
    }

    /// A block left with under a quarter of `BLOCK` keys is merged into a neighbour that
    /// has room, so removals do not leave the set in many near-empty blocks.
    #[test]
    fn a_block_left_nearly_empty_is_merged_into_a_neighbour() {
        let keys: Vec<u128> = (0..3 * BUILT as u128).collect();
        let mut s = PackedSet::from_sorted(&keys).unwrap();
        assert_eq!(s.blocks.len(), 3);
        // The middle block down to 2 keys; its neighbours then have room for them.
        let middle = BUILT as u128..2 * BUILT as u128;
        let ops: Vec<(u128, bool)> = middle.clone().skip(2).map(|k| (k, false)).collect();
        s.apply_many(&ops);
        check_blocks(&s);
        assert_eq!(s.blocks.len(), 2, "the 2 keys left were merged");
        let want: Vec<u128> = (keys.iter().copied())
            .filter(|k| !middle.contains(k) || *k < middle.start + 2)
            .collect();
        assert_eq!(all(&s), want);
    }

    /// Keys out of order or repeated are refused, never packed wrong.
    #[test]
    fn unsorted_keys_are_refused() {
        assert!(PackedSet::from_sorted(&[1, 3, 2]).is_none());
        assert!(PackedSet::from_sorted(&[1, 1]).is_none());
        assert_eq!(PackedSet::from_sorted(&[]).unwrap().len(), 0);
    }

    /// 1M keys as a balance index holds them (balances in hundredths up to 40,000 points,
    /// members 1..=1M): a few bytes a key, against `BTreeSet<u128>`'s 19.5 built in order;
    /// and still so after 250k random moves (a member's key removed and put elsewhere).
    #[test]
    fn a_million_index_keys_take_a_few_bytes_each_before_and_after_random_moves() {
        let n = 1_000_000u64;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut balance: Vec<u64> = (0..n).map(|_| rnd() % 4_000_000).collect();
        let key = |b: u64, m: u64| (u128::from(b) << 64) | u128::from(m + 1);
        let mut keys: Vec<u128> = (0..n).map(|m| key(balance[m as usize], m)).collect();
        keys.sort_unstable();
        let mut s = PackedSet::from_sorted(&keys).unwrap();
        let built = s.heap_bytes() as f64 / n as f64;
        for _ in 0..n / 4 {
            let m = rnd() % n;
            assert!(s.remove(key(balance[m as usize], m)));
            balance[m as usize] = rnd() % 4_000_000;
            assert!(s.insert(key(balance[m as usize], m)));
        }
        let moved = s.heap_bytes() as f64 / n as f64;
        eprintln!("bytes a key: {built:.2} built, {moved:.2} after 250k moves");
        assert_eq!(s.len(), n as usize);
        assert!(built < 7.0, "{built:.2} bytes a key built");
        assert!(moved < 9.0, "{moved:.2} bytes a key after the moves");
    }
}
