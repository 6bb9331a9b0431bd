//! A store's sessions as an operator's processes meet them: `open` (a fresh process opens
//! a kept store: the time, the RSS, the first page by balance), `write` (the ingest mix on
//! a kept store until killed: what `kills` and `ingest` kill), and killing such a writer
//! with SIGKILL (`kill_a_writer`).

use std::sync::Arc;
use std::time::Instant;

use onepoint::domain::core::{Core, CoreOptions};
use onepoint::domain::{Command, Keyed, MemberId, MerchantId};
use onepoint::traffic::{Generator, Mix, Spread};
use rand::SeedableRng;

use crate::Opts;
use crate::ingest::submitter_members;

/// Opens the core with `--cache-mb MB` as sled's cache (unless given, the store's
/// default, 64 MB, what headless commands take; the console 32, `onepoint serve` 256).
pub fn open_core(dir: &std::path::Path, opts: &Opts) -> Result<Core, String> {
    let mb = opts.num(
        "cache-mb",
        onepoint::domain::model::DEFAULT_CACHE_BYTES >> 20,
    )?;
    let so = onepoint::domain::store::StoreOptions {
        cache_bytes: onepoint::config::cache_bytes("--cache-mb", mb).map_err(|e| e.to_string())?,
        ..Default::default()
    };
    Core::open_with_store(dir, CoreOptions::default(), so).map_err(|e| e.to_string())
}

/// Opens the store in a fresh process (`onepoint-bench open`, with the same `--cache-mb`):
/// (open ms, RSS MB after, ms from opening to the first page by balance, RSS MB after it).
pub fn open_in_child(dir: &std::path::Path, opts: &Opts) -> Result<(f64, f64, f64, f64), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["open", "--data"]).arg(dir);
    if let Some(mb) = opts.text("cache-mb") {
        cmd.args(["--cache-mb", mb]);
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(text.trim()).map_err(|e| {
        format!(
            "open in a child: {e}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    Ok((
        f("open_ms"),
        f("rss_mb"),
        f("balance_page_ms"),
        f("rss_mb_after_balance_page"),
    ))
}

/// `onepoint-bench open --data DIR`: opens the store, prints the time it took and the
/// resident memory after it.
/// sled's log segments by state and the pages waiting for the reclaimer
/// (`Core::segment_states`), as a JSON object.
fn segments_json(core: &Core) -> serde_json::Value {
    let states = core.segment_states().into_iter();
    states
        .map(|(k, n)| (k.to_string(), serde_json::Value::from(n)))
        .collect()
}

pub fn open(opts: &Opts) -> Result<(), String> {
    let dir = opts.text("data").ok_or("--data DIR is required")?;
    let t0 = Instant::now();
    let core = open_core(std::path::Path::new(dir), opts)?;
    let info = core.info().map_err(|e| e.to_string())?;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    let rss = rss_mb();
    // The balance and last-activity indexes are built in memory after opening (on a
    // thread of the core's): what the console's sort by balance waits for at most.
    let page = core
        .member_window(&onepoint::domain::MemberWindow {
            order: onepoint::domain::MemberOrder::Balance,
            descending: true,
            limit: 20,
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
    let page_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let log = core.log_space();
    let resident = core.sled_resident();
    let index = core.memory_index_size();
    println!(
        "{}",
        serde_json::json!({"open_ms": ms, "rss_mb": rss, "deals": info.deals,
            "memory_index_keys": index.0,
            "memory_index_mb": index.1 as f64 / (1 << 20) as f64,
            "sled_resident_pages": resident.0,
            "sled_resident_mb": resident.1 as f64 / (1 << 20) as f64,
            "sled_cache_counted_mb": resident.2 as f64 / (1 << 20) as f64,
            "balance_page_ms": page_ms, "balance_page_rows": page.rows.len(),
            "sled_log_used_bytes": log.0, "sled_log_live_bytes": log.1,
            "sled_segments": segments_json(&core),
            "rss_mb_after_balance_page": rss_mb()})
    );
    Ok(())
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Runs `onepoint-bench write` on the store and kills it with SIGKILL after `after` of
/// writing under load (the ingest scenario's open after a kill, and `kills`). Fails if the
/// writer does not start or stops by itself before the kill.
pub fn kill_a_writer(
    dir: &std::path::Path,
    members: u64,
    after: std::time::Duration,
) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new(exe)
        .args(["write", "--members", &members.to_string(), "--data"])
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
        .map_err(|e| e.to_string())?;
    if line.trim() != "writing" {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("the writer did not start (it said {line:?})"));
    }
    std::thread::sleep(after);
    if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
        return Err(format!("the writer stopped by itself ({status})"));
    }
    child.kill().map_err(|e| e.to_string())?;
    let _ = child.wait();
    Ok(())
}

/// `onepoint-bench write --data DIR --members N`: writes the ingest mix with 64 submitters
/// until killed (prints `writing` once it has started).
pub fn write(opts: &Opts) -> Result<(), String> {
    let dir = opts.text("data").ok_or("--data DIR is required")?;
    let members = opts.num("members", 100_000)?;
    if members == 0 {
        return Err("--members must be at least 1".into());
    }
    let core = Arc::new(open_core(std::path::Path::new(dir), opts)?);
    println!("writing");
    // `--report-every SECS`: a line on stderr every SECS with sled's log (its segments in
    // use and the live bytes in them), its segments by state and the pages reclaimed:
    // whether the reclaimer keeps the log compact under these writes.
    let every = opts.num("report-every", 0)?;
    if every > 0 {
        let core = core.clone();
        std::thread::spawn(move || {
            let t0 = Instant::now();
            loop {
                std::thread::sleep(std::time::Duration::from_secs(every));
                let log = core.log_space();
                let info = core.info().map(|i| i.deals).unwrap_or(0);
                let resident = core.sled_resident();
                eprintln!(
                    "{}",
                    serde_json::json!({"s": t0.elapsed().as_secs(), "deals": info,
                        "rss_mb": rss_mb(),
                        "sled_resident_mb": resident.1 as f64 / (1 << 20) as f64,
                        "sled_cache_counted_mb": resident.2 as f64 / (1 << 20) as f64,
                        "sled_log_used_bytes": log.0, "sled_log_live_bytes": log.1,
                        "reclaimed_pages": core.reclaimed_pages(),
                        "sled_segments": segments_json(&core)})
                );
            }
        });
    }
    let handles: Vec<_> = (0..64u64)
        .map(|t| {
            let core = core.clone();
            std::thread::spawn(move || {
                let rng = rand::rngs::StdRng::seed_from_u64(1_000 + t);
                let mut traffic = Generator::new(rng, Mix::DEALS, Spread::Uniform)
                    .with_members(submitter_members(t, 64, members).map(MemberId))
                    .with_merchants((1..=200).map(MerchantId));
                loop {
                    let req = traffic.deal(None);
                    let r = core
                        .execute(vec![Keyed::new(Command::Deal(req), None)])
                        .pop();
                    if let Some(Ok(o)) = &r {
                        traffic.learn(o);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    Ok(())
}
