//! The `ingest` scenario (SPEC 8): 64 concurrent submitters place a 70% save / 25% use /
//! 5% cancel mix for 100k members; every ack is durable (group commit, fsync). Each
//! submitter has one deal in flight and sends the next once its ack comes. By default they
//! run as pgbench runs its clients (`-c 64`, one thread unless `-j`): on one thread
//! (`--submit-threads K`: on K), handing deals over with `Core::submit`, the call the HTTP
//! server makes, so no thread waits per deal; `--submit-threads 0` gives each submitter a
//! thread of its own blocked in `Core::execute` (the benchmark before 2026-12-02: about
//! 15% of the two cores went to waking those 64 threads);
//! `--backdated PCT` gives that share of the deals a date up to 30 days before the write
//! (imports, late entries: the deals the date order keeps an index entry for). Reports
//! deals/s and ack latency, and, on the same disk in the same run, the limits we compare
//! against: raw sled batched inserts/s and flush+fsyncs/s. Then the store's size (every
//! file's bytes once the session has closed, and live key/value bytes per deal, by table)
//! and, in fresh processes, the time to open it and
//! the resident memory after opening, once after the clean close of the writing session and
//! once after a writer on it was killed with SIGKILL under load. And where an ack's time
//! went, stage by stage through the write pipeline (`stages_us_per_command`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use onepoint::domain::core::Core;
use onepoint::domain::window::{DealOrder, DealWindow};
use onepoint::domain::{Command, Keyed, MemberId, MerchantId};
use onepoint::traffic::{Generator, Mix, Spread};
use rand::{Rng, SeedableRng};

use crate::Opts;
use crate::session::{kill_a_writer, open_core, open_in_child};

pub fn run(opts: &Opts) -> Result<(), String> {
    let members = opts.num("members", 100_000)?;
    if members == 0 {
        return Err("--members must be at least 1".into());
    }
    let deals = opts.num("deals", 200_000)?;
    let submitters = opts.num("submitters", 64)? as usize;
    let backdated = opts.num("backdated", 0)?;
    if backdated > 100 {
        return Err(format!(
            "--backdated must be a percentage (0-100), got {backdated}"
        ));
    }
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = match opts.text("data") {
        Some(d) => std::path::PathBuf::from(d),
        None => tmp.path().join("store"),
    };
    let (raw_inserts, fsyncs) =
        onepoint::domain::store::raw_limits(tmp.path(), 800, 256).map_err(|e| e.to_string())?;

    let core = Arc::new(open_core(&dir, opts)?);
    let have = core.info().map_err(|e| e.to_string())?.members;
    crate::join_members(
        have,
        members,
        |i| format!("Bench Member {i}"),
        |b| core.execute(b),
    )?;

    let per = deals / submitters as u64;
    let drivers = opts.num("submit-threads", 1)? as usize;
    let failed = Arc::new(AtomicU64::new(0));
    let stages_before = core.pipeline_stages();
    // A reader beside the writers, as a console or a server's reads run: a member read every
    // millisecond. A read waits for sled to apply what was durable when it started
    // (`Shared::settle`), so this is what reads pay while writes saturate the store. Every
    // tenth read is instead the console's first page of deals by points (50 rows, the most
    // points first): a scan of the whole points index from its top, where the deals' held-back
    // index keys are merged in.
    let stop_reading = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (core, stop) = (core.clone(), stop_reading.clone());
        std::thread::spawn(move || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(7);
            let (mut lat, mut pages) = (Vec::new(), Vec::new());
            let by_points = DealWindow {
                order: DealOrder::Points,
                limit: 50,
                ..Default::default()
            };
            for n in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let t = Instant::now();
                if n % 10 == 9 {
                    let _ = core.deal_window(&by_points);
                    pages.push(t.elapsed().as_secs_f64() * 1e3);
                } else {
                    let _ = core.member(MemberId(rng.random_range(1..=members)));
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            (lat, pages)
        })
    };
    let start = Instant::now();
    let spec = Traffic {
        members,
        backdated,
        per,
    };
    let mut lat = if drivers == 0 {
        threaded(&core, submitters, spec, &failed)?
    } else {
        driven(&core, submitters, drivers, spec, &failed)?
    };
    let secs = start.elapsed().as_secs_f64();
    stop_reading.store(true, Ordering::Relaxed);
    let (mut reads, mut pages) = reader.join().map_err(|_| "the reader panicked")?;
    reads.sort_by(f64::total_cmp);
    pages.sort_by(f64::total_cmp);
    let pct_of = |v: &[f64], p: f64| {
        let at = (v.len().saturating_sub(1) as f64 * p) as usize;
        v.get(at).copied().unwrap_or(f64::NAN)
    };
    let read_pct = |p: f64| pct_of(&reads, p);
    let stages = stages_per_command(stages_before, core.pipeline_stages());
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    let info = core.info().map_err(|e| e.to_string())?;
    let (files, tables, leaves) = core.store_bytes().map_err(|e| e.to_string())?;
    let (log_used, log_live) = core.log_space();
    drop(core);
    let deals_stored = info.deals.max(1) as f64;
    let live: u64 = tables.iter().map(|t| t.2 + t.3).sum();
    // What a user sees on disk once the session has closed: every file of the store.
    let (disk, allocated) = dir_bytes(&dir);
    let per_table: serde_json::Map<String, serde_json::Value> = tables
        .iter()
        .map(|&(t, n, k, v)| {
            (
                (t as char).to_string(),
                serde_json::json!({"entries": n, "key_bytes": k, "value_bytes": v,
                    "bytes_per_deal": ((k + v) as f64 / deals_stored * 10.0).round() / 10.0}),
            )
        })
        .collect();
    let per_file: serde_json::Map<String, serde_json::Value> = files
        .into_iter()
        .map(|(f, b)| (f, serde_json::json!(b)))
        .collect();
    let after_close = open_in_child(&dir, opts)?;
    kill_a_writer(&dir, members, std::time::Duration::from_secs(2))?;
    let after_kill = open_in_child(&dir, opts)?;
    let mut line = serde_json::json!({
        "scenario": "ingest",
        "members": members,
        "deals": lat.len(),
        "submitters": submitters,
        "submit_threads": drivers,
        "backdated_percent": backdated,
        "refused": failed.load(Ordering::Relaxed),
        "seconds": secs,
        "deals_per_s": lat.len() as f64 / secs,
        "p50_ack_ms": pct(0.50),
        "p99_ack_ms": pct(0.99),
        "reads_during_writes": reads.len(),
        "read_p50_ms_during_writes": read_pct(0.50),
        "read_p99_ms_during_writes": read_pct(0.99),
        "sled_batched_inserts_per_s": raw_inserts,
        "fsyncs_per_s": fsyncs,
        "budget_deals_per_s": 25_000,
        "budget_p99_ack_ms": 25,
        "store_bytes": info.store_bytes,
        "store_deals": info.deals,
        "store_bytes_after_close": disk,
        "store_bytes_per_deal": disk as f64 / deals_stored,
        "allocated_bytes_per_deal": allocated as f64 / deals_stored,
        "live_bytes_per_deal": live as f64 / deals_stored,
        "live_by_table": per_table,
        "stages_us_per_command": stages,
        "sled_leaves": leaves,
        "sled_log_used_bytes": log_used,
        "sled_log_live_bytes": log_live,
        "sled_log_amplification": log_used as f64 / log_live.max(1) as f64,
        "entries_per_leaf": tables.iter().map(|t| t.1).sum::<u64>() as f64 / leaves.max(1) as f64,
        "files_before_close": per_file,
        "budget_store_bytes_per_deal": 600,
        "open_ms_after_close": after_close.0,
        "rss_mb_after_open_after_close": after_close.1,
        "balance_page_ms_after_close": after_close.2,
        "rss_mb_after_balance_page_after_close": after_close.3,
        "open_ms_after_kill": after_kill.0,
        "rss_mb_after_open_after_kill": after_kill.1,
        "balance_page_ms_after_kill": after_kill.2,
        "budget_open_ms": 1000,
    });
    // Beside the object above (one macro call of all of them passes serde_json's limit).
    line["points_pages_during_writes"] = pages.len().into();
    line["points_page_p50_ms_during_writes"] = pct_of(&pages, 0.50).into();
    line["points_page_p99_ms_during_writes"] = pct_of(&pages, 0.99).into();
    println!("{line}");
    Ok(())
}

/// What each submitter sends: deals for members `1..=members`, `backdated` percent of them
/// back-dated, `per` in all.
#[derive(Clone, Copy)]
struct Traffic {
    members: u64,
    backdated: u64,
    per: u64,
}

/// One submitter: its deal generator, the generator of its back-dated dates, and the
/// deals it has still to send.
struct Submitter {
    traffic: Generator<rand::rngs::StdRng>,
    dates: rand::rngs::StdRng,
    left: u64,
}

impl Submitter {
    /// Submitter `t`.
    fn new(t: usize, spec: Traffic) -> Submitter {
        let rng = rand::rngs::StdRng::seed_from_u64(t as u64);
        Submitter {
            traffic: Generator::new(rng, Mix::DEALS, Spread::Uniform)
                .with_members((1..=spec.members).map(MemberId))
                .with_merchants((1..=200).map(MerchantId)),
            dates: rand::rngs::StdRng::seed_from_u64(1_000 + t as u64),
            left: spec.per,
        }
    }

    /// Its next deal, if it has one left to send.
    fn next_deal(&mut self, backdated: u64) -> Option<Command> {
        self.left = self.left.checked_sub(1)?;
        let date = (self.dates.random_range(0..100) < backdated).then(|| {
            onepoint::domain::calendar::Clock::System.now()
                - self.dates.random_range(1..30 * 24 * 3_600_000)
        });
        Some(Command::Deal(self.traffic.deal(date)))
    }

    /// Learns from an answer; false if the deal was refused.
    fn learn(&mut self, r: Option<onepoint::domain::Result<onepoint::domain::Outcome>>) -> bool {
        match r {
            Some(Ok(o)) => {
                self.traffic.learn(&o);
                true
            }
            _ => false,
        }
    }
}

/// The latencies the threads measured, all of them.
fn joined(handles: Vec<std::thread::JoinHandle<Vec<f64>>>) -> Result<Vec<f64>, String> {
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(
            h.join()
                .map_err(|_| "a submitter thread panicked".to_string())?,
        );
    }
    Ok(lat)
}

/// One OS thread per submitter, each waiting on `Core::execute` for its ack before it
/// sends its next deal. The ack latencies, in ms.
fn threaded(
    core: &Arc<Core>,
    submitters: usize,
    spec: Traffic,
    failed: &Arc<AtomicU64>,
) -> Result<Vec<f64>, String> {
    let handles = (0..submitters)
        .map(|t| {
            let core = core.clone();
            let failed = failed.clone();
            std::thread::spawn(move || {
                let mut s = Submitter::new(t, spec);
                let mut lat = Vec::with_capacity(spec.per as usize);
                while let Some(deal) = s.next_deal(spec.backdated) {
                    let t0 = Instant::now();
                    let r = core.execute(vec![Keyed::new(deal, None)]).pop();
                    lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                    if !s.learn(r) {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                lat
            })
        })
        .collect();
    joined(handles)
}

/// The same submitters, each with one deal in flight at a time as in `threaded`, spread
/// over `drivers` threads that hand deals over with `Core::submit` (the server's way:
/// no thread waits per request) and take the acks from a channel, as pgbench runs its
/// clients on a few threads (`-j`).
fn driven(
    core: &Arc<Core>,
    submitters: usize,
    drivers: usize,
    spec: Traffic,
    failed: &Arc<AtomicU64>,
) -> Result<Vec<f64>, String> {
    type Acked = (
        usize,
        Instant,
        Option<onepoint::domain::Result<onepoint::domain::Outcome>>,
    );
    let handles = (0..drivers)
        .map(|d| {
            let core = core.clone();
            let failed = failed.clone();
            std::thread::spawn(move || {
                let mut mine: Vec<Submitter> = (d..submitters)
                    .step_by(drivers)
                    .map(|t| Submitter::new(t, spec))
                    .collect();
                let (tx, rx) = std::sync::mpsc::channel::<Acked>();
                // Sends submitter `i`'s next deal, if it has one: whether it did.
                let send = |i: usize, s: &mut Submitter| {
                    let Some(deal) = s.next_deal(spec.backdated) else {
                        return false;
                    };
                    let (tx, t0) = (tx.clone(), Instant::now());
                    core.submit(
                        vec![Keyed::new(deal, None)],
                        Box::new(move |mut r| {
                            let _ = tx.send((i, t0, r.pop()));
                        }),
                    );
                    true
                };
                let mut in_flight = 0;
                for (i, s) in mine.iter_mut().enumerate() {
                    in_flight += usize::from(send(i, s));
                }
                let mut lat = Vec::with_capacity(spec.per as usize * mine.len());
                while in_flight > 0 {
                    let Ok((i, t0, r)) = rx.recv() else { break };
                    lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                    if !mine[i].learn(r) {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    in_flight = in_flight - 1 + usize::from(send(i, &mut mine[i]));
                }
                lat
            })
        })
        .collect();
    joined(handles)
}

/// The store directory's bytes: (apparent file lengths, blocks allocated).
fn dir_bytes(p: &std::path::Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut total = (0, 0);
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => {
                    let (a, b) = dir_bytes(&e.path());
                    total.0 += a;
                    total.1 += b;
                }
                Ok(m) => {
                    total.0 += m.len();
                    total.1 += m.blocks() * 512;
                }
                Err(_) => {}
            }
        }
    }
    total
}

/// The members submitter `t` of `n` deals for: its share of `1..=members`, a block of
/// consecutive ids (all of them where there are fewer members than submitters). Every
/// member is dealt for alike, and each generator keeps only its block's balances: with
/// every member each, the 64 generators held 51 MB at 100k members (8 bytes a member),
/// which `write`'s reported RSS counted as the store's.
pub fn submitter_members(t: u64, n: u64, members: u64) -> std::ops::RangeInclusive<u64> {
    if members < n {
        return 1..=members;
    }
    t * members / n + 1..=(t + 1) * members / n
}

/// The pipeline's time per command over the timed deals, stage by stage (the ack's path:
/// what bounds the run when no stage keeps its core busy), from two readings of
/// `Core::pipeline_stages`.
fn stages_per_command(
    before: ([u64; 6], u64),
    after: ([u64; 6], u64),
) -> serde_json::Map<String, serde_json::Value> {
    let n = after.1.saturating_sub(before.1).max(1) as f64;
    onepoint::domain::core::STAGE_NAMES
        .iter()
        .zip(after.0.iter().zip(before.0))
        .map(|(name, (a, b))| {
            let us = (a.saturating_sub(b) as f64 / n).round();
            (name.to_string(), serde_json::json!(us))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::submitter_members;

    #[test]
    fn the_submitters_blocks_cover_every_member_once() {
        for members in [64, 100, 100_000, 100_003] {
            let blocks: Vec<u64> = (0..64)
                .flat_map(|t| submitter_members(t, 64, members))
                .collect();
            assert_eq!(
                blocks,
                (1..=members).collect::<Vec<_>>(),
                "{members} members"
            );
        }
        // Fewer members than submitters: each deals for all of them.
        for t in 0..64 {
            assert_eq!(submitter_members(t, 64, 10), 1..=10);
        }
    }
}
