//! The `render` scenario (SPEC 8): the console's first frame (open the store, load the first
//! page, draw) and the time of one frame at 200x50 on every tab, with the process RSS.
//! The store: `--data DIR` (seeded to `--members`/`--deals`, default 1M / 10M, on first
//! use and reused after), or a temporary one of that size. It is then opened as the console
//! opens it (`api::open_console_port`: on a thread, with the member names loading), and the
//! RSS is taken once the names are in (`rss_mb_names`), so the figures are the console's.

use std::sync::Arc;
use std::time::Instant;

use onepoint::api::Port;
use onepoint::app::action::Action;
use onepoint::app::state::Tab;
use onepoint::config::CoreSettings;
use onepoint::domain::Info;
use onepoint::headless::Headless;

use crate::Opts;

/// How long sled took to open (recover) the store, ms.
pub static STORE_OPEN_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// An open store: the port, what it holds, and the temporary directory (if one).
pub type Opened = (Arc<dyn Port>, Info, Option<tempfile::TempDir>);

/// Opens `--data DIR` (seeding it up to `--members`/`--deals` the first time, like the
/// queries scenario) or a temporary store of that size, with `--cache-mb MB` as sled's
/// cache (the console's 32 unless given), as the console opens it
/// (`api::open_console_port`: on a thread, the member names loading on another); returns the
/// port, the store's counts and the temp guard. The open's time (until the port answers)
/// is kept in `STORE_OPEN_MS`.
pub fn open_store(opts: &Opts, default_members: u64, default_deals: u64) -> Result<Opened, String> {
    let members = opts.num("members", default_members)?;
    let deals = opts.num("deals", default_deals)?;
    let tmp = match opts.text("data") {
        Some(_) => None,
        None => Some(tempfile::tempdir().map_err(|e| e.to_string())?),
    };
    let dir = match (opts.text("data"), &tmp) {
        (Some(d), _) => std::path::PathBuf::from(d),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => return Err("no store directory".into()),
    };
    let mb = opts.num("cache-mb", onepoint::config::CONSOLE_CACHE_BYTES >> 20)?;
    let settings = CoreSettings {
        cache_bytes: onepoint::config::cache_bytes("--cache-mb", mb).map_err(|e| e.to_string())?,
        ..CoreSettings::default()
    };
    let t = Instant::now();
    let port = onepoint::api::open_console_port(&onepoint::api::Target::Local { dir, settings })
        .map_err(|e| e.to_string())?;
    // Waits for the store to be open.
    let info = port.info().map_err(|e| e.to_string())?;
    STORE_OPEN_MS.store(
        t.elapsed().as_millis() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    if info.members >= members && info.deals >= deals {
        return Ok((port, info, tmp));
    }
    crate::queries::seed(&info, members, deals, |b| port.execute(b))?;
    let info = port.info().map_err(|e| e.to_string())?;
    Ok((port, info, tmp))
}

/// One field of a by-tab JSON object: the tab's name and `value` with `decimals`.
fn tab_field(tab: Tab, value: f64, decimals: usize) -> String {
    format!("\"{}\":{value:.decimals$}", tab.title().to_lowercase())
}

pub fn run(opts: &Opts) -> Result<(), String> {
    let frames = opts.num("frames", 300)? as usize;
    let (port, info, _tmp) = open_store(opts, 1_000_000, 10_000_000)?;
    let port = &*port;
    let rss_open = rss_mb();

    let t0 = Instant::now();
    let mut h = Headless::open(port, 200, 50).map_err(|e| e.to_string())?;
    h.draw().map_err(|e| e.to_string())?;
    let first_frame_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let rss_first_frame = rss_mb();
    // A name search waits for the list the open started loading.
    let t = Instant::now();
    port.members(&onepoint::domain::MemberQuery {
        query: Some("no such name".into()),
        limit: 1,
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let names_ms = t.elapsed().as_secs_f64() * 1000.0;
    let rss_names = rss_mb();

    let mut per_tab = Vec::new();
    let mut rss_by_tab = Vec::new();
    let mut load_by_tab = Vec::new();
    let mut all = Vec::new();
    for tab in Tab::ALL {
        // The tab's first load: its store reads (the points tab waits for the in-memory
        // indexes' build), what a smaller cache would slow.
        let t = Instant::now();
        h.load_tab(port, tab);
        load_by_tab.push(tab_field(tab, t.elapsed().as_secs_f64() * 1000.0, 1));
        // After the tab's page is loaded: what each tab adds shows where memory grows.
        rss_by_tab.push(tab_field(tab, rss_mb(), 1));
        let mut times = Vec::with_capacity(frames);
        for i in 0..frames {
            // Move the selection so frames differ (within the loaded page: no store reads).
            if i % 2 == 0 {
                h.state.spinner += 1;
            }
            let t = Instant::now();
            h.draw().map_err(|e| e.to_string())?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        per_tab.push(tab_field(tab, percentile(&times, 0.5), 3));
        all.extend(times);
    }
    // Paging through the member table: the store read of one page plus its frame.
    h.load_tab(port, Tab::Members);
    let mut pages = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        h.act(
            port,
            Action::Key(crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::PageDown,
            )),
        );
        h.draw().map_err(|e| e.to_string())?;
        pages.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    pages.sort_by(f64::total_cmp);
    all.sort_by(f64::total_cmp);
    println!(
        "{{\"scenario\":\"render\",\"size\":\"200x50\",\"frame_ms_p50\":{:.3},\"frame_ms_p99\":{:.3},\"frame_ms_p50_by_tab\":{{{}}},\"page_down_ms_p50\":{:.3},\"page_down_ms_p99\":{:.3},\"first_frame_ms\":{:.1},\"store_open_ms\":{},\"rss_mb_store_open\":{:.1},\"rss_mb_first_frame\":{:.1},\"names_ms\":{:.1},\"rss_mb_names\":{:.1},\"rss_mb_by_tab\":{{{}}},\"load_ms_by_tab\":{{{}}},\"rss_mb\":{:.1},\"store\":{{\"members\":{},\"deals\":{},\"events\":{},\"bytes\":{}}}}}",
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        per_tab.join(","),
        percentile(&pages, 0.5),
        percentile(&pages, 0.99),
        first_frame_ms,
        STORE_OPEN_MS.load(std::sync::atomic::Ordering::Relaxed),
        rss_open,
        rss_first_frame,
        names_ms,
        rss_names,
        rss_by_tab.join(","),
        load_by_tab.join(","),
        rss_mb(),
        info.members,
        info.deals,
        info.events,
        info.store_bytes
    );
    if std::env::var_os("ONEPOINT_BENCH_EXIT").is_some() {
        // For a heap profiler (README, Benchmarks): what is live now shows as not freed.
        std::process::exit(0);
    }
    Ok(())
}
