//! The `ingest` scenario (SPEC 8): 64 concurrent submitters place a 70% save / 25% use /
//! 5% cancel mix for 100k members; every ack is durable (group commit, fsync). Reports
//! deals/s and ack latency, and, on the same disk in the same run, the limits we compare
//! against: raw sled batched inserts/s and flush+fsyncs/s.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use onepoint::domain::core::{Core, CoreOptions};
use onepoint::domain::{Command, Keyed, MemberId, MerchantId};
use onepoint::traffic::{Generator, Mix, Spread};
use rand::SeedableRng;

use crate::Opts;

pub fn run(opts: &Opts) -> Result<(), String> {
    let members = opts.num("members", 100_000)?;
    let deals = opts.num("deals", 200_000)?;
    let submitters = opts.num("submitters", 64)? as usize;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = match opts.text("data") {
        Some(d) => std::path::PathBuf::from(d),
        None => tmp.path().join("store"),
    };
    let (raw_inserts, fsyncs) =
        onepoint::domain::store::raw_limits(tmp.path(), 800, 256).map_err(|e| e.to_string())?;

    let core = Arc::new(Core::open(&dir, CoreOptions::default()).map_err(|e| e.to_string())?);
    let have = core.info().map_err(|e| e.to_string())?.members;
    crate::join_members(
        have,
        members,
        |i| format!("Bench Member {i}"),
        |b| core.execute(b),
    )?;

    let per = deals / submitters as u64;
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..submitters)
        .map(|t| {
            let core = core.clone();
            let failed = failed.clone();
            std::thread::spawn(move || {
                let rng = rand::rngs::StdRng::seed_from_u64(t as u64);
                let mut traffic = Generator::new(rng, Mix::DEALS, Spread::Uniform)
                    .with_members((1..=members).map(MemberId))
                    .with_merchants((1..=200).map(MerchantId));
                let mut lat = Vec::with_capacity(per as usize);
                for _ in 0..per {
                    let req = traffic.deal(None);
                    let t0 = Instant::now();
                    let r = core
                        .execute(vec![Keyed::new(Command::Deal(req), None)])
                        .pop()
                        .expect("one result");
                    lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                    match r {
                        Ok(o) => traffic.learn(&o),
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<f64> = Vec::new();
    for h in handles {
        lat.extend(h.join().map_err(|_| "a submitter panicked".to_string())?);
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    let info = core.info().map_err(|e| e.to_string())?;
    let line = serde_json::json!({
        "scenario": "ingest",
        "members": members,
        "deals": lat.len(),
        "submitters": submitters,
        "refused": failed.load(Ordering::Relaxed),
        "seconds": secs,
        "deals_per_s": lat.len() as f64 / secs,
        "p50_ack_ms": pct(0.50),
        "p99_ack_ms": pct(0.99),
        "sled_batched_inserts_per_s": raw_inserts,
        "fsyncs_per_s": fsyncs,
        "budget_deals_per_s": 20_000,
        "budget_p99_ack_ms": 25,
        "store_bytes": info.store_bytes,
    });
    println!("{line}");
    Ok(())
}
