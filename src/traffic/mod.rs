//! The one traffic generator: realistic commands from the balances it knows, for `onepoint
//! seed`, the demo's history and its live simulator, the bench and the durability tests.
//! A mix of 70% save, 25% use (most within the balance, about one in ten over it and so
//! recorded as failed), 5% cancel of a recent successful deal, and, when asked, joins and
//! withdrawals. It learns from each outcome (a member's true balance, a new cancel
//! candidate, a new or departed member), so it needs no reads. Pure: a function of its
//! random source; it writes nothing itself.

pub mod data;
mod known;

use known::Known;

use rand::Rng;

use crate::domain::{
    Amount, CancelKind, Command, DealId, DealRequest, DealStatus, MemberDraft, MemberId,
    MerchantId, Millis, NewMember, Outcome, Points,
};

/// Successful deals kept as cancel candidates: recent ones, as in real life.
const CANCEL_POOL: usize = 50_000;

/// The share of each kind of command; saves take the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mix {
    pub uses: f64,
    pub cancels: f64,
    pub joins: f64,
    pub withdrawals: f64,
}

impl Mix {
    /// Deals only: 70% save, 25% use, 5% cancel.
    pub const DEALS: Mix = Mix {
        uses: 0.25,
        cancels: 0.05,
        joins: 0.0,
        withdrawals: 0.0,
    };
    /// Live traffic: the deal mix, and now and then a join (0.8%) or a withdrawal (0.2%).
    pub const LIVE: Mix = Mix {
        uses: 0.25,
        cancels: 0.05,
        joins: 0.008,
        withdrawals: 0.002,
    };
}

/// Who gets the deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// Every member and merchant alike.
    Uniform,
    /// Some members and merchants much busier than others (a power law).
    Skewed,
}

pub struct Generator<R> {
    rng: R,
    mix: Mix,
    spread: Spread,
    /// Known members in id order, and what each holds (hundredths) as last seen.
    members: Known,
    merchants: Vec<MerchantId>,
    /// Successful saves and uses not yet cancelled.
    pool: Vec<DealId>,
}

impl<R: Rng> Generator<R> {
    pub fn new(rng: R, mix: Mix, spread: Spread) -> Generator<R> {
        Generator {
            rng,
            mix,
            spread,
            members: Known::default(),
            merchants: Vec::new(),
            pool: Vec::new(),
        }
    }

    /// Members to deal for, with a balance of 0 until one is learned or set.
    pub fn with_members(mut self, ids: impl IntoIterator<Item = MemberId>) -> Generator<R> {
        for id in ids {
            self.add_member(id, Points::ZERO);
        }
        self
    }

    pub fn with_merchants(mut self, ids: impl IntoIterator<Item = MerchantId>) -> Generator<R> {
        self.add_merchants(ids);
        self
    }

    pub fn add_merchants(&mut self, ids: impl IntoIterator<Item = MerchantId>) {
        self.merchants.extend(ids);
    }

    /// Adds a member or updates what it holds.
    pub fn add_member(&mut self, id: MemberId, balance: Points) {
        self.members.set(id, balance.hundredths());
    }

    /// How many members it deals for.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// The random source, for whatever else the caller draws (dates, names).
    pub fn rng(&mut self) -> &mut R {
        &mut self.rng
    }

    /// The next command by the mix: a join, a withdrawal or a deal dated `date` (`None`:
    /// now). With no member or merchant known yet, a join.
    pub fn command(&mut self, date: Option<Millis>) -> Command {
        let roll: f64 = self.rng.random();
        if roll < self.mix.joins || self.members.is_empty() || self.merchants.is_empty() {
            return Command::Join(self.new_member());
        }
        if roll < self.mix.joins + self.mix.withdrawals {
            let i = self.pick_member();
            return Command::Withdraw(self.members.id(i));
        }
        Command::Deal(self.deal(date))
    }

    /// The next deal by the mix (joins and withdrawals aside). Needs a member and a
    /// merchant.
    pub fn deal(&mut self, date: Option<Millis>) -> DealRequest {
        assert!(
            !self.members.is_empty() && !self.merchants.is_empty(),
            "a deal needs a member and a merchant"
        );
        let roll: f64 = self.rng.random();
        if roll < self.mix.cancels && !self.pool.is_empty() {
            let original = self
                .pool
                .swap_remove(self.rng.random_range(0..self.pool.len()));
            return DealRequest::Cancel {
                original,
                kind: CancelKind::Any,
                date,
            };
        }
        let idx = self.pick_member();
        let member = self.members.id(idx);
        let merchant = self.pick_merchant();
        let balance = self.members.balance(idx);
        if roll < self.mix.cancels + self.mix.uses {
            // Most uses fit the balance; about one in ten asks for more and is recorded failed.
            let points = if balance >= 100 && self.rng.random_bool(0.9) {
                self.rng.random_range(1..=balance / 100) * 100
            } else {
                balance.max(0) + self.rng.random_range(100..10_000)
            };
            if points <= balance {
                *self.members.balance_mut(idx) -= points;
            }
            return DealRequest::Use {
                member,
                merchant,
                points: Points(points),
                amount: None,
                date,
            };
        }
        let amount = Amount(data::amount(&mut self.rng));
        // 1% in hundredths: exact at the default rate, learned exactly from the outcome.
        *self.members.balance_mut(idx) += amount.0 as i64;
        DealRequest::Save {
            member,
            merchant,
            amount,
            date,
        }
    }

    /// Learns from a recorded outcome: a member's balance, a cancel candidate, a member
    /// joined or withdrawn.
    pub fn learn(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Deal(d) => {
                if let Ok(i) = self.members.position(d.member_id) {
                    *self.members.balance_mut(i) = d.balance.hundredths();
                }
                if d.status == DealStatus::Success && !d.deal_type.is_cancel() {
                    if self.pool.len() < CANCEL_POOL {
                        self.pool.push(d.id);
                    } else {
                        let slot = self.rng.random_range(0..CANCEL_POOL);
                        self.pool[slot] = d.id;
                    }
                }
            }
            Outcome::Member(m) => self.add_member(m.member_id, m.point),
            Outcome::Withdrawal(w) => {
                self.members.remove(w.member.member_id);
            }
            _ => {}
        }
    }

    fn pick_member(&mut self) -> usize {
        let n = self.members.len();
        match self.spread {
            Spread::Uniform => self.rng.random_range(0..n),
            Spread::Skewed => ((n as f64 * self.rng.random::<f64>().powf(1.5)) as usize).min(n - 1),
        }
    }

    fn pick_merchant(&mut self) -> MerchantId {
        let n = self.merchants.len();
        let i = match self.spread {
            Spread::Uniform => self.rng.random_range(0..n),
            Spread::Skewed => ((n as f64 * self.rng.random::<f64>().powi(2)) as usize).min(n - 1),
        };
        self.merchants[i]
    }

    fn new_member(&mut self) -> NewMember {
        loop {
            let (name, phone, address) = data::member(&mut self.rng);
            let draft = MemberDraft {
                name,
                phone,
                address,
            };
            // Generated names and phones always pass; the loop only guards the word lists.
            if let Ok(m) = NewMember::parse(&draft) {
                return m;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn generator(mix: Mix) -> Generator<StdRng> {
        Generator::new(StdRng::seed_from_u64(3), mix, Spread::Uniform)
            .with_members((1..=50).map(MemberId))
            .with_merchants((1..=5).map(MerchantId))
    }

    #[test]
    fn the_deal_mix_is_seventy_twenty_five_five() {
        let mut g = generator(Mix::DEALS);
        g.pool = (1..=1000).map(DealId).collect();
        let (mut saves, mut uses, mut cancels) = (0, 0, 0);
        for _ in 0..10_000 {
            match g.deal(None) {
                DealRequest::Save { .. } => saves += 1,
                DealRequest::Use { .. } => uses += 1,
                DealRequest::Cancel { .. } => cancels += 1,
            }
        }
        assert!((6_700..7_300).contains(&saves), "saves {saves}");
        assert!((2_200..2_800).contains(&uses), "uses {uses}");
        assert!((350..650).contains(&cancels), "cancels {cancels}");
    }

    #[test]
    fn uses_mostly_fit_the_learned_balance() {
        let mut g = generator(Mix {
            uses: 1.0,
            cancels: 0.0,
            joins: 0.0,
            withdrawals: 0.0,
        });
        for m in 1..=50 {
            g.add_member(MemberId(m), Points(10_000));
        }
        let mut over = 0;
        for _ in 0..1_000 {
            let DealRequest::Use { member, points, .. } = g.deal(None) else {
                panic!("uses only");
            };
            if points.0 > 10_000 {
                over += 1;
            }
            g.add_member(member, Points(10_000));
        }
        // About one in ten asks for more than the balance.
        assert!((50..160).contains(&over), "over the balance: {over}");
    }

    #[test]
    fn members_are_found_where_ids_are_dense_and_where_they_are_not() {
        let mut g = Generator::new(StdRng::seed_from_u64(3), Mix::DEALS, Spread::Uniform)
            .with_members([3, 4, 5, 9, 12, 13].map(MemberId));
        // In the first run of consecutive ids, and past a gap, in the next.
        assert_eq!(g.members.position(MemberId(4)), Ok(1));
        // Past a gap the slot holds another member: found by search.
        assert_eq!(g.members.position(MemberId(9)), Ok(3));
        assert_eq!(g.members.position(MemberId(13)), Ok(5));
        // Unknown ones, below, inside and past the range: where they would go.
        assert_eq!(g.members.position(MemberId(1)), Err(0));
        assert_eq!(g.members.position(MemberId(7)), Err(3));
        assert_eq!(g.members.position(MemberId(40)), Err(6));
        // Adding one keeps the order, and balances stay with their members.
        g.add_member(MemberId(7), Points(700));
        g.add_member(MemberId(12), Points(1_200));
        assert_eq!(
            g.members.ids().collect::<Vec<_>>(),
            [3, 4, 5, 7, 9, 12, 13].map(MemberId)
        );
        let balances: Vec<i64> = (0..7).map(|i| g.members.balance(i)).collect();
        assert_eq!(balances, [0, 0, 0, 700, 0, 1_200, 0]);
    }

    #[test]
    fn learning_a_withdrawal_stops_deals_for_that_member() {
        let mut g = generator(Mix::LIVE);
        let gone = MemberId(7);
        let view = crate::domain::MemberView {
            member_id: gone,
            name: "Kim".into(),
            phone: None,
            address: None,
            status: crate::domain::MemberStatus::Invalid,
            point: Points::ZERO,
            joined_at: 0,
            last_activity: None,
        };
        g.learn(&Outcome::Withdrawal(crate::domain::Withdrawal {
            member: view,
            forfeited: Points::ZERO,
        }));
        for _ in 0..2_000 {
            if let Command::Deal(
                DealRequest::Save { member, .. } | DealRequest::Use { member, .. },
            ) = g.command(None)
            {
                assert_ne!(member, gone);
            }
        }
    }
}
