use std::{num::NonZeroU64, ops::Bound};

use super::*;

#[derive(Default, Debug, Clone, PartialEq)]
pub struct Node {
    pub(crate) prefix_len: u8,
    pub(crate) next: Option<NonZeroU64>,
    pub(crate) merging_child: Option<NonZeroU64>,
    pub(crate) merging: bool,
    pub(crate) lo: IVec,
    pub(crate) hi: IVec,
    pub(crate) data: Data,
    /// OnePoint: when the cache last counted a read of this node (`Lru::due`); not part
    /// of what it holds (a copy starts uncounted, equality ignores it). It fits in the
    /// padding after `prefix_len` and `merging`: a node is no bigger for it.
    pub(crate) seen: crate::lru::Seen,
}

/// OnePoint: a leaf splits above this many entries (16 upstream). See ONEPOINT.md.
const LEAF_SPLIT_ABOVE: usize = 64;
/// OnePoint: a leaf merges below this many (4 upstream: a quarter of the split size, as
/// upstream). See ONEPOINT.md.
const LEAF_MERGE_BELOW: usize = 16;

impl Node {
    /// OnePoint: the bytes this node takes in memory, which the cache counts against
    /// its capacity (ONEPOINT.md 36): the node, its vectors as allocated, and the heap
    /// buffers of values and keys not kept inline. Upstream counted the node's bytes on
    /// disk, a half to a quarter of these for a leaf of short entries. A leaf keeps its
    /// entries' heap bytes as they change (`Leaf::heap`), so this reads no entry: it is
    /// asked at every read of a page (the cache's count of it, `PageCache::get`), and the
    /// walk it was took 3% of the machine while ingesting (ONEPOINT.md 41).
    pub(crate) fn mem_size(&self) -> u64 {
        let ivec = std::mem::size_of::<IVec>();
        let data = match &self.data {
            Data::Leaf(leaf) => {
                debug_assert_eq!(leaf.heap, leaf.count_heap(), "a leaf's heap bytes");
                (leaf.keys.capacity() + leaf.values.capacity()) * ivec
                    + leaf.heap as usize
            }
            // Not walked: an index node is read at every descent, and its keys
            // are separators cut short (nearly all inline).
            Data::Index(index) => {
                index.keys.capacity() * ivec
                    + index.pointers.capacity() * std::mem::size_of::<PageId>()
            }
        };
        let bounds = self.lo.heap_bytes() + self.hi.heap_bytes();
        (std::mem::size_of::<Node>() + data + bounds) as u64
    }

    pub(crate) fn new_hoisted_root(
        left: PageId,
        at: IVec,
        right: PageId,
    ) -> Node {
        Node {
            data: Data::Index(Index {
                keys: vec![prefix::empty().into(), at],
                pointers: vec![left, right],
            }),
            ..Node::default()
        }
    }

    pub(crate) fn new_root(child_pid: PageId) -> Node {
        Node {
            data: Data::Index(Index {
                keys: vec![prefix::empty().into()],
                pointers: vec![child_pid],
            }),
            ..Node::default()
        }
    }

    pub(crate) fn rss(&self) -> u64 {
        std::mem::size_of::<Node>() as u64
            + self.lo.len() as u64
            + self.hi.len() as u64
            + self.data.rss()
    }

    fn prefix_decode(&self, key: &[u8]) -> IVec {
        prefix::decode(self.prefix(), key)
    }

    fn prefix_encode<'a>(&self, key: &'a [u8]) -> &'a [u8] {
        assert!(*self.lo <= *key);
        if !self.hi.is_empty() {
            assert!(*self.hi > *key);
        }

        &key[self.prefix_len as usize..]
    }

    fn prefix(&self) -> &[u8] {
        &self.lo[..self.prefix_len as usize]
    }

    pub(crate) fn apply(&mut self, link: &Link) {
        use self::Link::*;

        assert!(
            !self.merging,
            "somehow a link was applied to a node after it was merged"
        );

        match *link {
            Set(ref k, ref v) => {
                self.set_leaf(k.clone(), v.clone());
            }
            Del(ref k) => {
                self.del_leaf(k);
            }
            ParentMergeIntention(pid) => {
                assert!(
                    self.merging_child.is_none(),
                    "trying to merge {:?} into node {:?} which \
                     is already merging another child",
                    link,
                    self
                );
                self.merging_child = Some(NonZeroU64::new(pid).unwrap());
            }
            ParentMergeConfirm => {
                assert!(self.merging_child.is_some());
                let merged_child = self
                    .merging_child
                    .take()
                    .expect(
                        "we should have a specific \
                     child that was merged if this \
                     link appears here",
                    )
                    .get();
                self.data.parent_merge_confirm(merged_child);
            }
            ChildMergeCap => {
                self.merging = true;
            }
        }
    }

    pub(crate) fn set_leaf(&mut self, key: IVec, val: IVec) {
        if !self.hi.is_empty() {
            assert!(*key < self.hi[self.prefix_len as usize..]);
        }
        if let Data::Leaf(ref mut leaf) = self.data {
            let search = leaf.keys.binary_search_by(|k| fastcmp(k, &key));
            leaf.shared |= key.is_shared() || val.is_shared();
            // OnePoint: a leaf of empty values keeps none (`Leaf::values`).
            if leaf.values.is_empty() && val.is_empty() {
                if let Err(idx) = search {
                    leaf.heap += heap32(&key);
                    leaf.keys.insert(idx, key);
                }
            } else {
                leaf.materialize_values();
                match search {
                    Ok(idx) => {
                        leaf.heap =
                            leaf.heap + heap32(&val) - heap32(&leaf.values[idx]);
                        leaf.values[idx] = val;
                    }
                    Err(idx) => {
                        leaf.heap += heap32(&key) + heap32(&val);
                        leaf.keys.insert(idx, key);
                        leaf.values.insert(idx, val);
                    }
                }
            }
            testing_assert!(is_sorted(&leaf.keys));
        } else {
            panic!("tried to Set a value to an index");
        }
    }

    pub(crate) fn del_leaf(&mut self, key: &IVec) {
        if let Data::Leaf(ref mut leaf) = self.data {
            let search = leaf.keys.binary_search_by(|k| fastcmp(k, key));
            if let Ok(idx) = search {
                leaf.heap -= heap32(&leaf.keys.remove(idx));
                if !leaf.values.is_empty() {
                    leaf.heap -= heap32(&leaf.values.remove(idx));
                }
            }
            testing_assert!(is_sorted(&leaf.keys));
        } else {
            panic!("tried to attach a Del to an Index chain");
        }
    }

    pub(crate) fn parent_split(&mut self, at: &[u8], to: PageId) -> bool {
        if let Data::Index(ref mut index) = self.data {
            let encoded_sep = &at[self.prefix_len as usize..];
            match index.keys.binary_search_by(|k| fastcmp(k, encoded_sep)) {
                Ok(_) => {
                    debug!(
                        "parent_split skipped because \
                         parent already contains child \
                         at split point due to deep race"
                    );
                    return false;
                }
                Err(idx) => {
                    index.keys.insert(idx, IVec::from(encoded_sep));
                    index.pointers.insert(idx, to)
                }
            }
            testing_assert!(is_sorted(&index.keys));
        } else {
            panic!("tried to attach a ParentSplit to a Leaf chain");
        }

        true
    }

    /// Where `key` goes among this leaf's keys (how many sort before it); `None` for an
    /// index node. OnePoint: see `split`.
    pub(crate) fn leaf_position(&self, key: &[u8]) -> Option<usize> {
        match &self.data {
            Data::Leaf(leaf) => {
                let suffix = key.get(self.prefix_len as usize..).unwrap_or(&[]);
                Some(leaf.keys.partition_point(|k| k.as_ref() < suffix))
            }
            Data::Index(_) => None,
        }
    }

    /// Splits an overfull node in two. OnePoint: upstream always splits in the middle, so
    /// keys written in ascending order (deal ids, event offsets, members by last activity)
    /// leave every leaf behind them half full, for good. A leaf is now split where the
    /// write that found it overfull goes (`at`, from `leaf_position`) when that is past
    /// its middle: the left one keeps at most 64 entries (or its table's size,
    /// `Config::leaf_entries`), the right one at least 16 (so it
    /// is not merged back, `should_merge`). Written past its end (or up to a table that
    /// follows in the same leaf), a leaf keeps all but 16, as B-trees split on rightmost
    /// inserts (PostgreSQL's fastpath split, InnoDB's split at the insert point). Index
    /// nodes split in the middle. See ONEPOINT.md.
    pub(crate) fn split(
        mut self,
        at: Option<usize>,
        split_above: usize,
    ) -> (Node, Node) {
        fn split_inner<T>(
            split_above: usize,
            keys: &mut Vec<IVec>,
            values: &mut Vec<T>,
            old_prefix: &[u8],
            old_hi: &[u8],
            suffix_truncation: bool,
            at: Option<usize>,
        ) -> (IVec, u8, Vec<IVec>, Vec<T>)
        where
            T: Clone + Ord,
        {
            let middle = keys.len() / 2 + 1;
            let split_point = match at {
                Some(at) if at > middle => at
                    .min(keys.len().saturating_sub(LEAF_MERGE_BELOW))
                    .min(split_above)
                    .max(middle),
                _ => middle,
            };
            let right_keys = keys.split_off(split_point);
            // OnePoint: a leaf of empty values keeps none (`Leaf::values`).
            let right_values = if values.is_empty() {
                Vec::new()
            } else {
                values.split_off(split_point)
            };
            let right_min = &right_keys[0];
            let left_max = &keys.last().unwrap();

            let splitpoint_length = if suffix_truncation {
                // we can only perform suffix truncation when
                // choosing the split points for leaf nodes.
                // split points bubble up into indexes, but
                // an important invariant is that for indexes
                // the first item always matches the lo key,
                // otherwise ranges would be permanently
                // inaccessible by falling into the gap
                // during a split.
                right_min
                    .iter()
                    .zip(left_max.iter())
                    .take_while(|(a, b)| a == b)
                    .count()
                    + 1
            } else {
                right_min.len()
            };

            let split_point: IVec =
                prefix::decode(old_prefix, &right_min[..splitpoint_length]);

            assert!(!split_point.is_empty());

            let new_prefix_len = old_hi
                .iter()
                .zip(split_point.iter())
                .take_while(|(a, b)| a == b)
                .take(u8::max_value() as usize)
                .count();

            assert!(
                new_prefix_len >= old_prefix.len(),
                "new prefix length {} should be greater than \
                 or equal to the old prefix length {}",
                new_prefix_len,
                old_prefix.len()
            );

            let mut right_keys_data = Vec::with_capacity(right_keys.len());

            for k in right_keys {
                let k: IVec = if new_prefix_len == old_prefix.len() {
                    k.clone()
                } else {
                    // shave off additional prefixed bytes
                    prefix::reencode(old_prefix, &k, new_prefix_len)
                };
                right_keys_data.push(k);
            }

            testing_assert!(is_sorted(&right_keys_data));

            (
                split_point,
                u8::try_from(new_prefix_len).unwrap(),
                right_keys_data,
                right_values,
            )
        }

        let prefixed_lo = &self.lo[..self.prefix_len as usize];
        let prefixed_hi = &self.hi;
        let (split, right_prefix_len, right_data) = match self.data {
            Data::Index(ref mut index) => {
                let (split, right_prefix_len, right_keys, right_values) =
                    split_inner(
                        split_above,
                        &mut index.keys,
                        &mut index.pointers,
                        prefixed_lo,
                        prefixed_hi,
                        false,
                        None,
                    );

                (
                    split,
                    right_prefix_len,
                    Data::Index(Index {
                        keys: right_keys,
                        pointers: right_values,
                    }),
                )
            }
            Data::Leaf(ref mut leaf) => {
                let (split, right_prefix_len, right_keys, right_values) =
                    split_inner(
                        split_above,
                        &mut leaf.keys,
                        &mut leaf.values,
                        prefixed_lo,
                        prefixed_hi,
                        true,
                        at,
                    );

                // OnePoint: what the right one took leaves the left's count.
                leaf.recount();
                (
                    split,
                    right_prefix_len,
                    Data::Leaf(Leaf::new(right_keys, right_values)),
                )
            }
        };

        let right = Node {
            data: right_data,
            next: self.next,
            lo: split.clone(),
            hi: self.hi.clone(),
            merging_child: None,
            merging: false,
            prefix_len: right_prefix_len,
            seen: Default::default(),
        };

        self.hi = split;

        let new_prefix_len = self
            .hi
            .iter()
            .zip(self.lo.iter())
            .take_while(|(a, b)| a == b)
            .take(u8::max_value() as usize)
            .count();

        if new_prefix_len != self.prefix_len as usize {
            match self.data {
                Data::Index(ref mut index) => {
                    for k in &mut index.keys {
                        *k = prefix::reencode(prefixed_lo, k, new_prefix_len);
                    }
                }
                Data::Leaf(ref mut leaf) => {
                    for k in &mut leaf.keys {
                        *k = prefix::reencode(prefixed_lo, k, new_prefix_len);
                    }
                    // OnePoint: a re-encoded key may be too long to keep inline.
                    leaf.recount();
                }
            }
        }

        self.prefix_len = u8::try_from(new_prefix_len).unwrap();

        // intentionally make this the end to make
        // any issues pop out with setting it
        // correctly after the split.
        self.next = None;

        if self.hi.is_empty() {
            assert_eq!(self.prefix_len, 0);
        }

        assert!(!(self.lo.is_empty() && self.hi.is_empty()));
        assert!(!(self.lo.is_empty() && (self.prefix_len > 0)));
        assert!(self.lo.len() >= self.prefix_len as usize);
        assert!(self.hi.len() >= self.prefix_len as usize);
        assert!(!(right.lo.is_empty() && right.hi.is_empty()));
        assert!(!(right.lo.is_empty() && (right.prefix_len > 0)));
        assert!(right.lo.len() >= right.prefix_len as usize);
        assert!(right.hi.len() >= right.prefix_len as usize);

        if !self.lo.is_empty() && !self.hi.is_empty() {
            assert!(self.lo < self.hi, "{:?}", self);
        }

        if !right.lo.is_empty() && !right.hi.is_empty() {
            assert!(right.lo < right.hi, "{:?}", right);
        }

        (self, right)
    }

    pub(crate) fn receive_merge(&self, right: &Node) -> Node {
        fn receive_merge_inner<T>(
            old_prefix: &[u8],
            new_prefix_len: usize,
            left_keys: &mut Vec<IVec>,
            left_values: &mut Vec<T>,
            right_keys: &[IVec],
            right_values: &[T],
        ) where
            T: Debug + Clone + PartialOrd,
        {
            // When merging, the prefix should only shrink or
            // stay the same length. Here we figure out if
            // we need to add previous prefixed bytes.

            // OnePoint: keys and values apart, as a leaf of empty values keeps none
            // (`Leaf::values`; the caller lines the two sides' values up).
            for k in right_keys {
                let k = if new_prefix_len == old_prefix.len() {
                    k.clone()
                } else {
                    prefix::reencode(old_prefix, k, new_prefix_len)
                };
                left_keys.push(k);
            }
            left_values.extend(right_values.iter().cloned());
            testing_assert!(
                is_sorted(left_keys),
                "should have been sorted: {:?}",
                left_keys
            );
        }

        let mut merged = self.clone();

        let new_prefix_len = right
            .hi
            .iter()
            .zip(self.lo.iter())
            .take_while(|(a, b)| a == b)
            .take(u8::max_value() as usize)
            .count();

        if new_prefix_len != merged.prefix_len as usize {
            match merged.data {
                Data::Index(ref mut index) => {
                    for k in &mut index.keys {
                        *k = prefix::reencode(self.prefix(), k, new_prefix_len);
                    }
                }
                Data::Leaf(ref mut leaf) => {
                    for k in &mut leaf.keys {
                        *k = prefix::reencode(self.prefix(), k, new_prefix_len);
                    }
                }
            }
        }

        merged.prefix_len = u8::try_from(new_prefix_len).unwrap();

        match (&mut merged.data, &right.data) {
            (Data::Index(ref mut left_index), Data::Index(ref right_index)) => {
                receive_merge_inner(
                    right.prefix(),
                    new_prefix_len,
                    &mut left_index.keys,
                    &mut left_index.pointers,
                    right_index.keys.as_ref(),
                    right_index.pointers.as_ref(),
                );
            }
            (Data::Leaf(ref mut left_leaf), Data::Leaf(ref right_leaf)) => {
                // OnePoint: the merged leaf keeps a value per key if either side
                // kept values, none if neither did (`Leaf::values`): the left one's are
                // made before the right keys come, the right one's padded after.
                let values = !left_leaf.values.is_empty() || !right_leaf.values.is_empty();
                if values {
                    left_leaf.materialize_values();
                }
                receive_merge_inner(
                    right.prefix(),
                    new_prefix_len,
                    &mut left_leaf.keys,
                    &mut left_leaf.values,
                    right_leaf.keys.as_ref(),
                    right_leaf.values.as_ref(),
                );
                if values {
                    left_leaf.materialize_values();
                }
                // OnePoint: its keys re-encoded, the right one's added (`Leaf::shared`).
                left_leaf.recount();
            }
            _ => panic!("Can't merge incompatible Data!"),
        }

        merged.hi = right.hi.clone();
        merged.next = right.next;
        merged
    }

    pub(crate) fn contains_upper_bound(&self, bound: &Bound<IVec>) -> bool {
        match bound {
            Bound::Excluded(bound) if self.hi >= *bound => true,
            Bound::Included(bound) if self.hi > *bound => true,
            _ => self.hi.is_empty(),
        }
    }

    pub(crate) fn contains_lower_bound(
        &self,
        bound: &Bound<IVec>,
        is_forward: bool,
    ) -> bool {
        match bound {
            Bound::Excluded(bound)
                if self.lo < *bound || (is_forward && *bound == self.lo) =>
            {
                true
            }
            Bound::Included(bound) if self.lo <= *bound => true,
            Bound::Unbounded if !is_forward => self.hi.is_empty(),
            _ => self.lo.is_empty(),
        }
    }

    pub(crate) fn successor(
        &self,
        bound: &Bound<IVec>,
    ) -> Option<(IVec, IVec)> {
        assert!(!self.data.is_index());

        // This encoding happens this way because
        // keys cannot be lower than the node's lo key.
        let predecessor_key = match bound {
            Bound::Unbounded => self.prefix_encode(&self.lo),
            Bound::Included(b) | Bound::Excluded(b) => {
                let max = std::cmp::max(b, &self.lo);
                self.prefix_encode(max)
            }
        };

        let leaf = self.data.leaf_ref().unwrap();
        let search =
            leaf.keys.binary_search_by(|k| fastcmp(k, predecessor_key));

        let start = match search {
            Ok(start) => start,
            Err(start) if start < leaf.keys.len() => start,
            _ => return None,
        };

        for (idx, k) in leaf.keys[start..].iter().enumerate() {
            match bound {
                Bound::Excluded(b) if b[self.prefix_len as usize..] == **k => {
                    // keep going because we wanted to exclude
                    // this key.
                    continue;
                }
                _ => {}
            }
            let decoded_key = self.prefix_decode(k);
            return Some((decoded_key, leaf.value(start + idx).clone()));
        }

        None
    }

    pub(crate) fn predecessor(
        &self,
        bound: &Bound<IVec>,
    ) -> Option<(IVec, IVec)> {
        assert!(!self.data.is_index());

        // This encoding happens this way because
        // the rightmost (unbounded) node has
        // a hi key represented by the empty slice
        let successor_key = match bound {
            Bound::Unbounded => {
                if self.hi.is_empty() {
                    None
                } else {
                    Some(IVec::from(self.prefix_encode(&self.hi)))
                }
            }
            Bound::Included(b) => Some(IVec::from(self.prefix_encode(b))),
            Bound::Excluded(b) => {
                // we use manual prefix encoding here because
                // there is an assertion in `prefix_encode`
                // that asserts the key is within the node,
                // and maybe `b` is above the node.
                let encoded = &b[self.prefix_len as usize..];
                Some(IVec::from(encoded))
            }
        };

        let leaf = self.data.leaf_ref().unwrap();
        let search = if let Some(successor_key) = successor_key {
            leaf.keys.binary_search_by(|k| fastcmp(k, &successor_key))
        } else if leaf.keys.is_empty() {
            Err(0)
        } else {
            Ok(leaf.keys.len() - 1)
        };

        let end = match search {
            Ok(end) => end,
            Err(end) if end > 0 => end - 1,
            _ => return None,
        };

        for (idx, k) in leaf.keys[0..=end].iter().enumerate().rev() {
            match bound {
                Bound::Excluded(b)
                    if b.len() >= self.prefix_len as usize
                        && b[self.prefix_len as usize..] == **k =>
                {
                    // keep going because we wanted to exclude
                    // this key.
                    continue;
                }
                _ => {}
            }
            let decoded_key = self.prefix_decode(k);

            return Some((decoded_key, leaf.value(idx).clone()));
        }
        None
    }

    /// `leaf_pair_for_key` finds an existing value pair for a given key.
    pub(crate) fn leaf_pair_for_key(
        &self,
        key: &[u8],
    ) -> Option<(&IVec, &IVec)> {
        let leaf = self
            .data
            .leaf_ref()
            .expect("leaf_pair_for_key called on index node");

        let suffix = &key[self.prefix_len as usize..];

        let search = leaf.keys.binary_search_by(|k| fastcmp(k, suffix)).ok();

        search.map(|idx| (&leaf.keys[idx], leaf.value(idx)))
    }

    /// `node_kv_pair` returns either existing (node/key, value) pair or
    /// (node/key, none) where a node/key is node level encoded key.
    pub fn node_kv_pair(&self, key: &[u8]) -> (IVec, Option<IVec>) {
        assert!(key >= self.lo.as_ref());
        if !self.hi.is_empty() {
            assert!(key < self.hi.as_ref());
        }
        if let Some((k, v)) = self.leaf_pair_for_key(key.as_ref()) {
            (k.clone(), Some(v.clone()))
        } else {
            let encoded_key = IVec::from(&key[self.prefix_len as usize..]);
            let encoded_val = None;
            (encoded_key, encoded_val)
        }
    }

    /// OnePoint: how many entries this leaf holds before it splits: 64, or what
    /// `Config::leaf_entries` set for its table (its low key's first byte; the leftmost
    /// leaf, with no low key, has the default).
    pub(crate) fn leaf_split_above(&self, sizes: &[u16; 256]) -> usize {
        match self.lo.first().map(|b| sizes[*b as usize]) {
            Some(n) if n > 0 => n as usize,
            _ => LEAF_SPLIT_ABOVE,
        }
    }

    pub(crate) fn should_split(&self, sizes: &[u16; 256]) -> bool {
        let threshold = if cfg!(any(test, feature = "lock_free_delays")) {
            2
        } else if self.data.is_index() {
            256
        } else {
            self.leaf_split_above(sizes)
        };

        let size_checks = self.data.len() > threshold;
        let safety_checks = self.merging_child.is_none() && !self.merging;

        size_checks && safety_checks
    }

    pub(crate) fn should_merge(&self) -> bool {
        let threshold = if cfg!(any(test, feature = "lock_free_delays")) {
            1
        } else if self.data.is_index() {
            64
        } else {
            LEAF_MERGE_BELOW
        };

        let size_checks = self.data.len() < threshold;
        let safety_checks = self.merging_child.is_none() && !self.merging;

        size_checks && safety_checks
    }

    pub(crate) fn can_merge_child(&self) -> bool {
        self.merging_child.is_none() && !self.merging
    }

    pub(crate) fn index_next_node(&self, key: &[u8]) -> (usize, PageId) {
        let index =
            self.data.index_ref().expect("index_next_node called on leaf");

        let suffix = &key[self.prefix_len as usize..];

        let search = binary_search_lub(suffix, &index.keys);

        let pos = search.expect("failed to traverse index");

        (pos, index.pointers[pos])
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Data {
    Index(Index),
    Leaf(Leaf),
}

impl Default for Data {
    fn default() -> Data {
        Data::Leaf(Leaf::default())
    }
}

impl Data {
    pub(crate) fn rss(&self) -> u64 {
        match self {
            Data::Index(ref index) => {
                index.keys.iter().map(|k| k.len() + 8).sum::<usize>() as u64
            }
            Data::Leaf(ref leaf) => {
                leaf.keys.iter().chain(&leaf.values).map(|x| x.len()).sum::<usize>()
                    as u64
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        match *self {
            Data::Index(ref index) => index.keys.len(),
            Data::Leaf(ref leaf) => leaf.keys.len(),
        }
    }

    pub(crate) fn parent_merge_confirm(&mut self, merged_child_pid: PageId) {
        match self {
            Data::Index(ref mut index) => {
                let idx = index
                    .pointers
                    .iter()
                    .position(|c| *c == merged_child_pid)
                    .unwrap();
                index.keys.remove(idx);
                index.pointers.remove(idx);
            }
            _ => panic!("parent_merge_confirm called on leaf data"),
        }
    }

    pub(crate) fn leaf_ref(&self) -> Option<&Leaf> {
        match *self {
            Data::Index(_) => None,
            Data::Leaf(ref leaf) => Some(leaf),
        }
    }

    pub(crate) fn index_ref(&self) -> Option<&Index> {
        match *self {
            Data::Index(ref index) => Some(index),
            Data::Leaf(_) => None,
        }
    }

    pub(crate) fn is_index(&self) -> bool {
        if let Data::Index(..) = self { true } else { false }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Leaf {
    pub(crate) keys: Vec<IVec>,
    /// OnePoint: the value of each key, or none at all when every value is empty (a
    /// table of keys only, as the store's indexes): `value` lends each. See ONEPOINT.md.
    pub(crate) values: Vec<IVec>,
    /// OnePoint: false only if no key or value shares a buffer (all are inline), so the
    /// leaf is dropped without reading its entries (`Drop for Leaf`). Whatever puts an
    /// entry in a leaf keeps it: `set_leaf` adds to it, every other change (a split, a
    /// merge, keys re-encoded for a new prefix, a leaf read from disk) counts it again
    /// (`Leaf::new`, `recount`). True when unsure.
    pub(crate) shared: bool,
    /// OnePoint: the heap bytes its keys and values hold (`IVec::heap_bytes`, summed),
    /// which the cache counts (`Node::mem_size`): kept exact by every change, as
    /// `shared` is (`set_leaf` and `del_leaf` by the entry, the rest by a recount). 32
    /// bits, so that it fits beside `shared` in what was padding.
    pub(crate) heap: u32,
}

/// OnePoint: an entry's heap bytes as a leaf counts them (`Leaf::heap`); a leaf's
/// entries hold far less than 4 GiB.
fn heap32(iv: &IVec) -> u32 {
    u32::try_from(iv.heap_bytes()).unwrap_or(u32::MAX)
}

impl Leaf {
    /// A leaf of these entries, with `shared` counted (and no values kept if all are
    /// empty).
    pub(crate) fn new(keys: Vec<IVec>, mut values: Vec<IVec>) -> Leaf {
        if values.iter().all(|v| v.is_empty()) {
            values = Vec::new();
        }
        let mut leaf = Leaf { keys, values, shared: true, heap: 0 };
        leaf.recount();
        leaf
    }

    /// The value of the key at `idx`.
    pub(crate) fn value(&self, idx: usize) -> &IVec {
        if self.values.is_empty() {
            assert!(idx < self.keys.len(), "no key at {}", idx);
            &crate::ivec::EMPTY
        } else {
            &self.values[idx]
        }
    }

    /// Keeps a value for each key: empty ones for the keys past its values (all of them,
    /// if it kept none).
    pub(crate) fn materialize_values(&mut self) {
        if self.values.len() < self.keys.len() {
            self.values.reserve_exact(self.keys.len() + 1 - self.values.len());
            self.values.resize(self.keys.len(), crate::ivec::EMPTY.clone());
        }
    }

    /// Counts `shared` and `heap` again, reading every entry: after any change but
    /// `set_leaf` and `del_leaf`.
    pub(crate) fn recount(&mut self) {
        self.shared =
            self.keys.iter().chain(&self.values).any(IVec::is_shared);
        self.heap = self.count_heap();
    }

    /// The heap bytes of its entries, read from each.
    pub(crate) fn count_heap(&self) -> u32 {
        self.keys.iter().chain(&self.values).map(heap32).sum()
    }
}

// OnePoint: `shared`, and whether empty values are kept, is how the leaf is kept, not
// what it holds.
impl PartialEq for Leaf {
    fn eq(&self, other: &Leaf) -> bool {
        self.keys == other.keys
            && (0..self.keys.len()).all(|i| self.value(i) == other.value(i))
    }
}

// OnePoint: every link clones the leaf it changes, then inserts into it; a clone with
// exact capacity reallocated both vectors on that insert, and one `IVec` at a time it was
// slow (see ONEPOINT.md).
impl Clone for Leaf {
    fn clone(&self) -> Leaf {
        let (keys, shared_keys, heap_keys) = IVec::clone_slice(&self.keys, 1);
        let spare = usize::from(!self.values.is_empty());
        let (values, shared_values, heap_values) =
            IVec::clone_slice(&self.values, spare);
        Leaf {
            keys,
            values,
            shared: shared_keys || shared_values,
            heap: u32::try_from(heap_keys + heap_values).unwrap_or(u32::MAX),
        }
    }
}

// OnePoint: every write to a leaf copies it, and the copy it replaced is dropped later,
// on whichever thread collects sled's garbage (mostly its I/O threads), long after it was
// last read: dropping it entry by entry read every entry back from memory (its
// `IVec`s' tags), about 4% of the machine's time while ingesting (`perf`). An inline
// `IVec` holds nothing to give back, so a leaf of inline entries frees its two vectors
// without reading them.
impl Drop for Leaf {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        if self.shared {
            return;
        }
        debug_assert!(
            !self.keys.iter().chain(&self.values).any(IVec::is_shared),
            "a leaf holding a shared buffer was kept as holding none"
        );
        // SAFETY: no entry shares a buffer (`shared`), and an inline `IVec` owns nothing
        // (its drop does nothing), so forgetting the entries leaks nothing; the vectors
        // then free their memory.
        unsafe {
            self.keys.set_len(0);
            self.values.set_len(0);
        }
    }
}

#[derive(Debug, PartialEq, Default)]
pub(crate) struct Index {
    pub(crate) keys: Vec<IVec>,
    pub(crate) pointers: Vec<PageId>,
}

// OnePoint: the keys copied at once (see `IVec::clone_slice`).
impl Clone for Index {
    fn clone(&self) -> Index {
        Index {
            keys: IVec::clone_slice(&self.keys, 0).0,
            pointers: self.pointers.clone(),
        }
    }
}

#[cfg(feature = "lock_free_delays")]
fn is_sorted<T: PartialOrd>(xs: &[T]) -> bool {
    xs.windows(2).all(|pair| pair[0] <= pair[1])
}

#[test]
fn merge_uneven_nodes() {
    let left = Node {
        data: Data::Leaf(Leaf::new(
            vec![vec![230, 126, 1, 0].into()],
            vec![vec![].into()],
        )),
        next: NonZeroU64::new(1),
        lo: vec![230, 125, 1, 0].into(),
        hi: vec![230, 134, 0, 0].into(),
        merging_child: None,
        merging: false,
        prefix_len: 0,
        seen: Default::default(),
    };

    let right = Node {
        data: Data::Leaf(Leaf::new(
            vec![vec![134, 0, 0].into()],
            vec![vec![].into()],
        )),
        next: None,
        lo: vec![230, 134, 0, 0].into(),
        hi: vec![230, 147, 0, 0].into(),
        merging_child: None,
        merging: false,
        prefix_len: 1,
        seen: Default::default(),
    };

    left.receive_merge(&right);
}

// OnePoint: `Leaf::heap` and `Node::seen` fit in what was padding (160 bytes before).
const _: () = assert!(std::mem::size_of::<Node>() == 160);
