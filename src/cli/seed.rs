//! `onepoint seed --members N --deals N [--merchants N] [--months N] [--seed S]`: fills a
//! store with realistic generated data, fast. Merchants 1..=M are registered with names
//! (at the default earn rate),
//! members join, then deals (70% save, 25% use, 5% cancel) are spread over the last N
//! months, oldest first. Everything goes through `Port::execute` in batches of `BATCH`
//! commands: the embedded adapter group-commits each batch with one fsync.
//!
//! Generation is a pure function of `--seed`, except the dates, which end at now. The deals
//! come from `traffic`, the generator the demo, the bench and the tests share.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::api::{Error, Result};
use crate::domain::{
    Command, DealStatus, DealType, FieldError, FieldErrors, Keyed, MemberDraft, MerchantDraft,
    MerchantId, Millis, NewMember, NewMerchant, Outcome,
};
use crate::traffic::{Generator, Mix, Spread, data};

use super::args::SeedArgs;
use super::commands::Ctx;
use super::output::{Record, print, progress};

/// Commands per `execute` call.
const BATCH: usize = 2000;
const DAY_MS: Millis = 24 * 3600 * 1000;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct SeedSummary {
    merchants: u64,
    members: u64,
    deals: u64,
    saves: u64,
    uses: u64,
    failed_uses: u64,
    cancels: u64,
    refused: u64,
    seconds: f64,
    deals_per_second: f64,
}

fn count(errs: &mut FieldErrors, field: &str, text: &str, min: u64, max: u64) -> u64 {
    let t = text.trim();
    let rule = format!("must be a whole number from {min} to {max}");
    let v = if !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<u64>().ok().filter(|v| (min..=max).contains(v))
    } else {
        None
    };
    v.unwrap_or_else(|| {
        errs.push(FieldError::new(field, &rule));
        0
    })
}

pub fn run(ctx: &Ctx, a: &SeedArgs) -> Result<i32> {
    let mut errs = FieldErrors::default();
    let members = count(&mut errs, "members", &a.members, 0, 100_000_000);
    let deals = count(&mut errs, "deals", &a.deals, 0, 1_000_000_000);
    let merchants = count(&mut errs, "merchants", &a.merchants, 1, 1_000_000);
    let months = count(&mut errs, "months", &a.months, 1, 240);
    let seed = count(&mut errs, "seed", &a.seed, 0, u64::MAX >> 12);
    if deals > 0 && members == 0 && errs.is_empty() {
        errs.push(FieldError::new(
            "members",
            "must be at least 1 when deals are seeded",
        ));
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let started = Instant::now();
    let mut s = Seeder {
        ctx,
        traffic: Generator::new(StdRng::seed_from_u64(seed), Mix::DEALS, Spread::Skewed),
        bar: progress(merchants + members + deals, "seed"),
        summary: SeedSummary::default(),
    };
    s.merchants(merchants)?;
    s.join(members)?;
    let now = chrono::Utc::now().timestamp_millis();
    s.deals(deals, now - months as i64 * 30 * DAY_MS, now - 60_000)?;
    s.bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    s.summary.seconds = (secs * 1000.0).round() / 1000.0;
    s.summary.deals_per_second = (s.summary.deals as f64 / secs.max(1e-9)).round();
    let sum = &s.summary;
    print(ctx.json, sum, || {
        Record::new()
            .field("merchants", sum.merchants)
            .field("members", sum.members)
            .field("deals", sum.deals)
            .field("  saves", sum.saves)
            .field("  uses", sum.uses)
            .field("  failed uses", sum.failed_uses)
            .field("  cancels", sum.cancels)
            .field("refused", sum.refused)
            .field("seconds", sum.seconds)
            .field("deals/s", sum.deals_per_second)
            .render()
    })?;
    Ok(0)
}

struct Seeder<'a> {
    ctx: &'a Ctx<'a>,
    /// Knows the members this run joined and the merchants it registered.
    traffic: Generator<StdRng>,
    bar: indicatif::ProgressBar,
    summary: SeedSummary,
}

impl Seeder<'_> {
    /// Sends one batch; a store or network failure stops the seed, a refusal is counted.
    fn send(&mut self, batch: Vec<Keyed>) -> Result<Vec<Outcome>> {
        let n = batch.len() as u64;
        let mut out = Vec::with_capacity(batch.len());
        for r in self.ctx.port.execute(batch) {
            match r {
                Ok(o) => out.push(o),
                Err(e) if e.is_failure() => return Err(e),
                Err(_) => self.summary.refused += 1,
            }
        }
        self.bar.inc(n);
        Ok(out)
    }

    fn merchants(&mut self, n: u64) -> Result<()> {
        self.bar.set_message("merchants");
        let ids: Vec<u64> = (1..=n).collect();
        for chunk in ids.chunks(BATCH) {
            let mut batch = Vec::with_capacity(chunk.len());
            for &id in chunk {
                let m = NewMerchant::parse(&MerchantDraft {
                    id: id.to_string(),
                    name: data::merchant_name(id),
                    // The default rate: a seeded store's deal export then rebuilds it
                    // exactly (`import deals` earns at the target store's rates).
                    earn_rate: None,
                })
                .map_err(Error::from)?;
                batch.push(Keyed::new(Command::AddMerchant(m), None));
            }
            // A merchant registered by an earlier seed is refused and counted: harmless.
            let done = self.send(batch)?;
            self.summary.merchants += done.len() as u64;
        }
        self.traffic.add_merchants((1..=n).map(MerchantId));
        Ok(())
    }

    fn join(&mut self, n: u64) -> Result<()> {
        self.bar.set_message("members");
        let mut left = n;
        while left > 0 {
            let size = left.min(BATCH as u64);
            left -= size;
            let mut batch = Vec::with_capacity(size as usize);
            for _ in 0..size {
                let (name, phone, address) = data::member(self.traffic.rng());
                let m = NewMember::parse(&MemberDraft {
                    name,
                    phone,
                    address,
                })
                .map_err(Error::from)?;
                batch.push(Keyed::new(Command::Join(m), None));
            }
            for o in self.send(batch)? {
                if let Outcome::Member(_) = o {
                    self.traffic.learn(&o);
                    self.summary.members += 1;
                }
            }
        }
        Ok(())
    }

    fn deals(&mut self, n: u64, from: Millis, to: Millis) -> Result<()> {
        self.bar.set_message("deals");
        if self.traffic.member_count() == 0 {
            return Ok(());
        }
        let span = (to - from).max(1) as f64;
        let mut i = 0u64;
        while i < n {
            let size = (n - i).min(BATCH as u64);
            let mut batch = Vec::with_capacity(size as usize);
            for k in 0..size {
                // Dates climb with the deal number, so ids and dates tell the same story.
                let t = from + (span * (i + k) as f64 / n as f64) as i64;
                let date = (t + self.traffic.rng().random_range(0..60_000)).min(to);
                let deal = self.traffic.deal(Some(date));
                batch.push(Keyed::new(Command::Deal(deal), None));
            }
            i += size;
            for o in self.send(batch)? {
                if let Outcome::Deal(d) = &o {
                    self.count(d);
                    self.traffic.learn(&o);
                }
            }
        }
        Ok(())
    }

    fn count(&mut self, d: &crate::domain::Deal) {
        self.summary.deals += 1;
        match (d.deal_type, d.status) {
            (DealType::Save, _) => self.summary.saves += 1,
            (DealType::Use, DealStatus::Success) => self.summary.uses += 1,
            (DealType::Use, DealStatus::Fail) => self.summary.failed_uses += 1,
            _ => self.summary.cancels += 1,
        }
    }
}
