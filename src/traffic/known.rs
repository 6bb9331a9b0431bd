//! The members a traffic generator knows, and what each holds as last seen: the ids kept as
//! runs of consecutive ids, so a store's members `1..=n` take one run, not 8 bytes each.
//! A generator over 1M members held 16 MB (an id and a balance each, in the demo's console
//! and in each of the benchmark's 64 submitters); it holds the 8 MB of balances and a run
//! for each gap that joins and withdrawals leave.

use crate::domain::MemberId;

#[derive(Debug, Default, Clone)]
pub struct Known {
    /// Each run's first id and the place of that member in `balances`, both ascending; a
    /// run ends where the next one starts (the last one, at `balances`' end). No run is
    /// empty.
    runs: Vec<(u64, usize)>,
    /// What each member holds (hundredths), in id order.
    balances: Vec<i64>,
}

impl Known {
    pub fn len(&self) -> usize {
        self.balances.len()
    }

    pub fn is_empty(&self) -> bool {
        self.balances.is_empty()
    }

    /// Where run `r` ends in `balances`.
    fn run_end(&self, r: usize) -> usize {
        self.runs
            .get(r + 1)
            .map_or(self.balances.len(), |&(_, start)| start)
    }

    /// The id of the member at place `i` (below `len`).
    pub fn id(&self, i: usize) -> MemberId {
        let r = self.runs.partition_point(|&(_, start)| start <= i) - 1;
        let (first, start) = self.runs[r];
        MemberId(first + (i - start) as u64)
    }

    /// Where member `id` is (`Err`: where it would go).
    pub fn position(&self, id: MemberId) -> Result<usize, usize> {
        let r = self.runs.partition_point(|&(first, _)| first <= id.0);
        let Some(r) = r.checked_sub(1) else {
            return Err(0);
        };
        let (first, start) = self.runs[r];
        let end = self.run_end(r);
        match usize::try_from(id.0 - first) {
            Ok(offset) if offset < end - start => Ok(start + offset),
            _ => Err(end),
        }
    }

    pub fn balance(&self, i: usize) -> i64 {
        self.balances[i]
    }

    pub fn balance_mut(&mut self, i: usize) -> &mut i64 {
        &mut self.balances[i]
    }

    /// Sets what member `id` holds, adding it where it is not known.
    pub fn set(&mut self, id: MemberId, balance: i64) {
        // Members mostly come in id order (a store's `1..=n`, then each join).
        if let Some(&(first, start)) = self.runs.last() {
            let next = first + (self.balances.len() - start) as u64;
            if id.0 == next {
                self.balances.push(balance);
                return;
            }
            if id.0 > next {
                self.runs.push((id.0, self.balances.len()));
                self.balances.push(balance);
                return;
            }
        }
        match self.position(id) {
            Ok(i) => self.balances[i] = balance,
            Err(i) => self.insert(i, id.0, balance),
        }
    }

    /// Adds member `id` at place `i`, where `position` says it goes.
    fn insert(&mut self, i: usize, id: u64, balance: i64) {
        self.balances.insert(i, balance);
        // The runs from `later` on start after the new member: one place further.
        let later = self.runs.partition_point(|&(_, start)| start < i);
        let joins_before = later > 0 && {
            let (first, start) = self.runs[later - 1];
            first + (i - start) as u64 == id
        };
        let joins_after = self
            .runs
            .get(later)
            .is_some_and(|&(first, _)| first == id + 1);
        for run in &mut self.runs[later..] {
            run.1 += 1;
        }
        match (joins_before, joins_after) {
            // It fills the gap between two runs: one run now.
            (true, true) => {
                self.runs.remove(later);
            }
            (true, false) => {}
            // The run after now starts with it, at its place.
            (false, true) => self.runs[later] = (id, i),
            (false, false) => self.runs.insert(later, (id, i)),
        }
    }

    /// Forgets member `id`, if known.
    pub fn remove(&mut self, id: MemberId) {
        let Ok(i) = self.position(id) else {
            return;
        };
        let r = self.runs.partition_point(|&(_, start)| start <= i) - 1;
        let (first, start) = self.runs[r];
        let end = self.run_end(r);
        self.balances.remove(i);
        for run in &mut self.runs[r + 1..] {
            run.1 -= 1;
        }
        if end - start == 1 {
            self.runs.remove(r);
        } else if i == start {
            self.runs[r].0 = first + 1;
        } else if i + 1 < end {
            // From the middle: the rest of the run is a run of its own, from place `i`.
            self.runs.insert(r + 1, (id.0 + 1, i));
        }
    }

    /// Every known id, in order.
    #[cfg(test)]
    pub fn ids(&self) -> impl Iterator<Item = MemberId> + '_ {
        (0..self.runs.len()).flat_map(move |r| {
            let (first, start) = self.runs[r];
            (0..(self.run_end(r) - start) as u64).map(move |k| MemberId(first + k))
        })
    }

    /// How many runs the ids take.
    #[cfg(test)]
    fn runs(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The plain model: ids and balances side by side.
    #[derive(Default)]
    struct Model {
        ids: Vec<u64>,
        balances: Vec<i64>,
    }

    impl Model {
        fn set(&mut self, id: u64, balance: i64) {
            match self.ids.binary_search(&id) {
                Ok(i) => self.balances[i] = balance,
                Err(i) => {
                    self.ids.insert(i, id);
                    self.balances.insert(i, balance);
                }
            }
        }
        fn remove(&mut self, id: u64) {
            if let Ok(i) = self.ids.binary_search(&id) {
                self.ids.remove(i);
                self.balances.remove(i);
            }
        }
    }

    fn assert_same(known: &Known, model: &Model) {
        assert_eq!(known.len(), model.ids.len());
        assert_eq!(known.ids().map(|m| m.0).collect::<Vec<_>>(), model.ids);
        assert_eq!(known.balances, model.balances);
        for (i, &id) in model.ids.iter().enumerate() {
            assert_eq!(known.id(i), MemberId(id));
            assert_eq!(known.position(MemberId(id)), Ok(i));
        }
        // Ids not known: where they would go, below, between and past the known ones.
        for id in 0..model.ids.last().map_or(3, |last| last + 3) {
            if let Err(at) = model.ids.binary_search(&id) {
                assert_eq!(known.position(MemberId(id)), Err(at), "id {id}");
            }
        }
        // Runs are maximal: no two could be one.
        let ids = &model.ids;
        let gaps = ids.windows(2).filter(|w| w[1] != w[0] + 1).count();
        assert_eq!(known.runs(), if ids.is_empty() { 0 } else { gaps + 1 });
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Any mix of sets and removes, in and out of id order, keeps every member at its
        /// place with its balance, as the plain model does.
        #[test]
        fn sets_and_removes_keep_what_a_plain_list_would(
            start in 0usize..40,
            ops in prop::collection::vec((any::<bool>(), 0u64..60, any::<i64>()), 0..120),
        ) {
            let mut known = Known::default();
            let mut model = Model::default();
            for id in 1..=start as u64 {
                known.set(MemberId(id), id as i64);
                model.set(id, id as i64);
            }
            for (remove, id, balance) in ops {
                if remove {
                    known.remove(MemberId(id));
                    model.remove(id);
                } else {
                    known.set(MemberId(id), balance);
                    model.set(id, balance);
                }
                assert_same(&known, &model);
            }
        }
    }

    #[test]
    fn a_million_members_in_id_order_take_one_run() {
        let mut known = Known::default();
        for id in 1..=1_000_000 {
            known.set(MemberId(id), 0);
        }
        assert_eq!(known.runs(), 1);
        assert_eq!(known.id(999_999), MemberId(1_000_000));
        // A withdrawal in the middle splits it; the member's return joins it again.
        known.remove(MemberId(500_000));
        assert_eq!(known.runs(), 2);
        assert_eq!(known.position(MemberId(500_001)), Ok(499_999));
        known.set(MemberId(500_000), 7);
        assert_eq!(known.runs(), 1);
        assert_eq!(known.balance(499_999), 7);
    }
}
