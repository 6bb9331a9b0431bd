//! The `queries` scenario (SPEC 8): on a store of `--members` members and `--deals` deals
//! (default 1M / 10M; seeded on first use and reused with `--data DIR`), the medians of a
//! member history page, one merchant-month settlement (per 10k deals in it), a member list
//! page and a name search; then the staff reports, the first segmentation after opening
//! with no saved member records (`--full-reads N` times, default 3: it reads every member's),
//! and the first name search after opening, with and without the saved names, page cache
//! warm and cold (`--name-opens N` times each, default 3).

use std::time::Instant;

use onepoint::domain::core::{Core, CoreOptions};
use onepoint::domain::{Command, Info, Keyed, MemberId, MemberQuery, MerchantId, Month, Outcome};
use onepoint::traffic::{Generator, Mix, Spread};
use rand::{Rng, SeedableRng};

use crate::Opts;

const FIRST: [&str; 12] = [
    "Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Smith", "Jones", "Brown", "Taylor", "Wilson",
    "Evans",
];
const GIVEN: [&str; 12] = [
    "Minjun", "Seoyeon", "Jiho", "Haeun", "Doyun", "Jiwoo", "Olivia", "Liam", "Emma", "Noah",
    "Ava", "Lucas",
];

pub const MERCHANTS: u64 = 200;

/// Seeds `members` members and `deals` deals (70% save, 30% use, from `traffic`) over the
/// last 6 months, on a store holding what `info` counts, through `execute` (the core's or
/// a port's).
pub fn seed<E: std::fmt::Display>(
    info: &Info,
    members: u64,
    deals: u64,
    execute: impl Fn(Vec<Keyed>) -> Vec<Result<Outcome, E>>,
) -> Result<(), String> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let have = info.members;
    let started = Instant::now();
    crate::join_members(
        have,
        members,
        |_| {
            format!(
                "{} {}",
                GIVEN[rng.random_range(0..GIVEN.len())],
                FIRST[rng.random_range(0..FIRST.len())]
            )
        },
        &execute,
    )?;
    let now = chrono::Utc::now().timestamp_millis();
    let span = 180 * 24 * 3600 * 1000i64;
    let mix = Mix {
        uses: 0.30,
        cancels: 0.0,
        joins: 0.0,
        withdrawals: 0.0,
    };
    let mut traffic = Generator::new(rng, mix, Spread::Uniform)
        .with_members((1..=members).map(MemberId))
        .with_merchants((1..=MERCHANTS).map(MerchantId));
    let mut done = info.deals;
    while done < deals {
        let n = (deals - done).min(8192);
        let batch = (0..n)
            .map(|_| {
                let date = Some(now - span + traffic.rng().random_range(0..span));
                Keyed::new(Command::Deal(traffic.deal(date)), None)
            })
            .collect();
        for r in execute(batch) {
            traffic.learn(&r.map_err(|e| e.to_string())?);
        }
        done += n;
        if done % 1_000_000 < 8192 {
            eprintln!(
                "seeded {done} deals ({:.0}/s)",
                (done - info.deals) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_ms<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let t = Instant::now();
    let r = f();
    (t.elapsed().as_secs_f64() * 1000.0, r)
}

/// The median of `n` timed calls of `f`, milliseconds; the first error ends it.
fn p50_ms<T>(n: usize, f: impl Fn() -> onepoint::domain::Result<T>) -> Result<f64, String> {
    let mut t = Vec::with_capacity(n);
    for _ in 0..n {
        let (ms, r) = time_ms(&f);
        r.map_err(|e| e.to_string())?;
        t.push(ms);
    }
    Ok(median(t))
}

/// CPU time of this process so far (user and system, every thread), milliseconds.
fn cpu_ms() -> f64 {
    // SAFETY: getrusage fills the struct it is given; nothing else is touched.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(u.ru_utime) + ms(u.ru_stime)
}

pub fn run(opts: &Opts) -> Result<(), String> {
    let members = opts.num("members", 1_000_000)?;
    let deals = opts.num("deals", 10_000_000)?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = match opts.text("data") {
        Some(d) => std::path::PathBuf::from(d),
        None => tmp.path().join("store"),
    };
    let core = Core::open(&dir, CoreOptions::default()).map_err(|e| e.to_string())?;
    let start = core.info().map_err(|e| e.to_string())?;
    let (seed_ms, r) = time_ms(|| seed(&start, members, deals, |b| core.execute(b)));
    r?;
    let info = core.info().map_err(|e| e.to_string())?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let e = |e: onepoint::domain::Error| e.to_string();

    let mut history = Vec::new();
    for _ in 0..500 {
        let m = MemberId(rng.random_range(1..=info.members));
        let (ms, r) = time_ms(|| core.member_history(m, None, 50));
        r.map_err(e)?;
        history.push(ms);
    }
    let mut list = Vec::new();
    for _ in 0..500 {
        let after = MemberId(rng.random_range(0..info.members));
        let (ms, r) = time_ms(|| {
            core.members(&MemberQuery {
                after: Some(after),
                limit: 50,
                ..Default::default()
            })
        });
        r.map_err(e)?;
        list.push(ms);
    }
    let mut search = Vec::new();
    for q in ["minjun kim", "olivia", "zzz-nobody", "park", "evans"] {
        let (ms, r) = time_ms(|| {
            core.members(&MemberQuery {
                query: Some(q.into()),
                limit: 50,
                ..Default::default()
            })
        });
        r.map_err(e)?;
        search.push(ms);
    }
    let this_month = Month::of(
        chrono::Utc::now().timestamp_millis(),
        chrono::FixedOffset::east_opt(0).unwrap(),
    );
    let mut settle = Vec::new();
    let mut settle_deals = Vec::new();
    for merchant in 1..=20u64 {
        let (ms, r) = time_ms(|| core.preview_billing(MerchantId(merchant), this_month));
        let p = r.map_err(e)?;
        settle_deals.push(p.deal_count as f64);
        settle.push(ms / (p.deal_count.max(1) as f64 / 10_000.0));
    }
    // The staff reports (issue 11): each from the counters; segmentation scans one record
    // per member, so it is timed after a write each round (the cache is dropped by it).
    use onepoint::domain::reports::{Grain, ReportKind, ReportQuery};
    let mut reports = serde_json::Map::new();
    let kinds = [
        ("liability", ReportQuery::new(ReportKind::Liability)),
        ("activity_day", ReportQuery::new(ReportKind::Activity)),
        (
            "activity_week",
            ReportQuery {
                grain: Grain::Week,
                ..ReportQuery::new(ReportKind::Activity)
            },
        ),
        (
            "activity_month",
            ReportQuery {
                grain: Grain::Month,
                ..ReportQuery::new(ReportKind::Activity)
            },
        ),
        ("anomalies", ReportQuery::new(ReportKind::Anomalies)),
        ("segments_cached", ReportQuery::new(ReportKind::Segments)),
        ("dormant_cached", ReportQuery::new(ReportKind::Dormant)),
    ];
    // The first segmentation after opening reads every member's record; later ones keep
    // them in memory and read again only the members named by the events since.
    let (first_scan_ms, r) = time_ms(|| core.report(&ReportQuery::new(ReportKind::Segments)));
    r.map_err(e)?;
    reports.insert("report_segments_first_scan_ms".into(), first_scan_ms.into());
    for (name, q) in &kinds {
        let p50 = p50_ms(7, || core.report(q))?;
        reports.insert(format!("report_{name}_ms_p50"), p50.into());
    }
    let mut scans = Vec::new();
    for i in 0..5u64 {
        let wrote = core.execute(vec![Keyed::new(
            Command::Deal(onepoint::domain::DealRequest::Save {
                member: MemberId(1 + i),
                merchant: MerchantId(1),
                amount: onepoint::domain::Amount(1_000),
                date: None,
            }),
            None,
        )]);
        for r in wrote {
            r.map_err(|e| e.to_string())?;
        }
        let (ms, r) = time_ms(|| core.report(&ReportQuery::new(ReportKind::Segments)));
        r.map_err(e)?;
        scans.push(ms);
    }
    reports.insert("report_segments_scan_ms_p50".into(), median(scans).into());
    // After a burst of writes: the events since the last scan are replayed (each names a
    // member whose record is read again).
    let burst: Vec<Keyed> = (0..10_000u64)
        .map(|i| {
            Keyed::new(
                Command::Deal(onepoint::domain::DealRequest::Save {
                    member: MemberId(1 + (i * 7919) % info.members.max(1)),
                    merchant: MerchantId(1 + i % MERCHANTS),
                    amount: onepoint::domain::Amount(1_000),
                    date: None,
                }),
                None,
            )
        })
        .collect();
    for r in core.execute(burst) {
        r.map_err(|e| e.to_string())?;
    }
    let (ms, r) = time_ms(|| core.report(&ReportQuery::new(ReportKind::Segments)));
    r.map_err(e)?;
    reports.insert("report_segments_after_10k_deals_ms".into(), ms.into());
    // The console's drill-down from a segment: its first page of members (id order), with
    // the scan cached (the window tests each member walked against the segment).
    let counts = match core
        .report(&ReportQuery::new(ReportKind::Segments))
        .map_err(e)?
    {
        onepoint::domain::reports::Report::Segments(r) => r.rows,
        _ => Vec::new(),
    };
    for row in &counts {
        let q = onepoint::domain::MemberWindow {
            segment: Some(row.segment.clone()),
            limit: 120,
            ..Default::default()
        };
        let p50 = p50_ms(5, || core.member_window(&q))?;
        let name = row.segment.replace(' ', "_");
        reports.insert(format!("segment_window_{name}_ms_p50"), p50.into());
        reports.insert(format!("segment_{name}_members"), row.members.into());
    }
    // The write path's report counters: per deal, the time of the same hook the writer
    // runs (reads and encoding, not the batch write) and the bytes it adds to the batch.
    let (n, took, bytes) = core.counter_cost(20_000).map_err(e)?;
    if n > 0 {
        reports.insert(
            "counters_us_per_deal".into(),
            (took.as_secs_f64() * 1e6 / n as f64).into(),
        );
        reports.insert(
            "counters_bytes_per_deal".into(),
            (bytes as f64 / n as f64).into(),
        );
    }
    // The exact place of a window's first row: counted on request (a console reload in
    // the balance order; from the middle, the longest count: half the index; in the date
    // order from the runs and back-dated deals before it).
    use onepoint::domain::{Anchor, DealId, DealOrder, DealWindow, MemberOrder, MemberWindow};
    if let Some(m) = core
        .members_by_ids(&[MemberId(info.members / 2 + 1)])
        .map_err(e)?
        .first()
    {
        for place in [false, true] {
            let q = MemberWindow {
                order: MemberOrder::Balance,
                descending: true,
                anchor: Anchor::From(MemberOrder::Balance.key_of(m)),
                limit: 120,
                place,
                ..Default::default()
            };
            let p50 = p50_ms(5, || core.member_window(&q))?;
            let name = if place { "counted" } else { "not_counted" };
            reports.insert(format!("balance_window_mid_{name}_ms_p50"), p50.into());
        }
    }
    for (order, place) in [
        (DealOrder::Id, false),
        (DealOrder::Date, false),
        (DealOrder::Date, true),
    ] {
        let q = DealWindow {
            order,
            anchor: Anchor::From(DealId(info.deals / 2 + 1)),
            limit: 120,
            place,
            ..Default::default()
        };
        let p50 = p50_ms(5, || core.deal_window(&q))?;
        let name = format!("{order:?}").to_lowercase();
        let counted = if place { "_counted" } else { "" };
        reports.insert(
            format!("deal_window_mid_by_{name}{counted}_ms_p50"),
            p50.into(),
        );
    }
    // The first segmentation with no usable `members.rfm` (a new store, or too many events
    // since it) reads every member's record: timed after reopening the store with the file
    // removed, `--full-reads` times (default 3).
    let dir = core.dir().to_path_buf();
    drop(core);
    // The process's CPU time beside the wall time: on this shared machine the wall time
    // mostly tells how busy the other processes keep the two cores.
    let (mut full, mut full_cpu) = (Vec::new(), Vec::new());
    for _ in 0..opts.num("full-reads", 3)? {
        let _ = std::fs::remove_file(onepoint::domain::reports::snapshot::path(&dir));
        let core = Core::open(&dir, CoreOptions::default()).map_err(|e| e.to_string())?;
        let cpu = cpu_ms();
        let (ms, r) = time_ms(|| core.report(&ReportQuery::new(ReportKind::Segments)));
        r.map_err(e)?;
        full_cpu.push(cpu_ms() - cpu);
        full.push(ms);
    }
    if !full.is_empty() {
        reports.insert(
            "report_segments_full_read_ms_runs".into(),
            full.clone().into(),
        );
        reports.insert(
            "report_segments_full_read_ms_p50".into(),
            median(full).into(),
        );
        reports.insert(
            "report_segments_full_read_cpu_ms_p50".into(),
            median(full_cpu).into(),
        );
    }
    first_name_searches(opts, &dir, &mut reports)?;
    reports.insert("budget_report_ms".into(), 200.into());
    reports.insert("budget_segments_scan_ms_at_1m_members".into(), 1000.into());
    let line = serde_json::json!({
        "scenario": "queries",
        "members": info.members,
        "deals": info.deals,
        "seed_ms": seed_ms,
        "member_history_page_ms_p50": median(history),
        "member_list_page_ms_p50": median(list),
        // The first search in this process loads the name list (from `members.names`
        // when a run before saved it, else from the name index); the rest scan it. The first
        // one after a fresh open is timed apart (`name_search_first_after_open_*`).
        "name_search_first_ms": search[0],
        "name_search_ms_p50": median(search[1..].to_vec()),
        "settlement_ms_per_10k_deals_p50": median(settle),
        "settlement_deals_in_month_p50": median(settle_deals),
        "budget_member_history_page_ms": 2,
        "budget_member_list_page_ms": 2,
        "budget_name_search_ms": 200,
        "budget_settlement_ms_per_10k_deals": 5,
        "store_bytes": info.store_bytes,
    });
    let mut line = line;
    if let Some(o) = line.as_object_mut() {
        o.extend(reports);
    }
    println!("{line}");
    Ok(())
}

/// The first name search after a fresh open (SPEC 8: 200 ms, the first one too), timed from
/// the search's call right after opening, `--name-opens` times each (default 3): as a
/// console or server opens the store (the names loading on a thread from the open on,
/// `warm_names`) and as a one-shot command does (loaded by the search); with the names
/// file (`members.names`) beside the store, without it, with 10,000 members joined since it
/// was saved, and with the store's files dropped from the page cache before opening (a
/// first start after a reboot); for a common name and for one nobody has.
fn first_name_searches(
    opts: &Opts,
    dir: &std::path::Path,
    reports: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<(), String> {
    let opens = opts.num("name-opens", 3)?;
    if opens == 0 {
        return Ok(());
    }
    let file = onepoint::domain::names::path(dir);
    let search = |core: &Core, q: &str| {
        core.members(&MemberQuery {
            query: Some(q.into()),
            limit: 50,
            ..Default::default()
        })
        .map_err(|e| e.to_string())
    };
    let open = || Core::open(dir, CoreOptions::default()).map_err(|e| e.to_string());
    struct Case {
        name: &'static str,
        file: bool,
        warm: bool,
        cold: bool,
        joined: u64,
    }
    let case = |name, file, warm, cold, joined| Case {
        name,
        file,
        warm,
        cold,
        joined,
    };
    let cases = [
        case("file", true, true, false, 0),
        case("file_cold", true, true, true, 0),
        case("file_10k_joined_since", true, true, false, 10_000),
        case("no_file", false, true, false, 0),
        case("file_cli", true, false, false, 0),
        case("no_file_cli", false, false, false, 0),
        case("no_file_cli_cold", false, false, true, 0),
    ];
    for c in cases {
        // Members joined for a case stay: that one is timed for one needle only.
        let skip = usize::from(c.joined > 0);
        for (which, needle) in [("common", "olivia"), ("rare", "zzz-nobody")]
            .into_iter()
            .skip(skip)
        {
            let mut runs = Vec::new();
            for _ in 0..opens {
                if c.file && !file.exists() {
                    // Saved by a first search (joined on close).
                    search(&open()?, needle)?;
                }
                if !c.file {
                    let _ = std::fs::remove_file(&file);
                }
                if c.joined > 0 {
                    let core = open()?;
                    let have = core.info().map_err(|e| e.to_string())?.members;
                    crate::join_members(
                        have,
                        have + c.joined,
                        |i| format!("Newcomer {i}"),
                        |b| core.execute(b),
                    )?;
                }
                if c.cold {
                    evict(dir);
                }
                let core = open()?;
                if c.warm {
                    core.warm_names();
                }
                let (ms, r) = time_ms(|| search(&core, needle));
                r?;
                runs.push(ms);
            }
            let key = format!("name_search_first_after_open_{}_{which}_ms", c.name);
            reports.insert(format!("{key}_runs"), runs.clone().into());
            reports.insert(format!("{key}_p50"), median(runs).into());
        }
    }
    if let Ok(m) = std::fs::metadata(&file) {
        reports.insert("names_file_bytes".into(), m.len().into());
    }
    Ok(())
}

/// Drops the files under `dir` from the page cache (what a reboot does to them).
fn evict(dir: &std::path::Path) {
    use std::os::fd::AsRawFd;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            evict(&p);
        } else if let Ok(f) = std::fs::File::open(&p) {
            // SAFETY: advice on an open descriptor; it changes no data.
            unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        }
    }
}
