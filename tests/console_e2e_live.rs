//! End to end on a store of 2,500 members with live writes (the demo's simulator on a
//! seeded store), in a real terminal (tmux, 200x50, mono theme so the highlight is reverse
//! video): `j`, `PgDn`, `G` and `k` reach every row in order across window boundaries; the
//! selection keeps its id while writes arrive; `c` and `w` name the highlighted record;
//! global sorts (balance, last activity, deals by points and by date, both ways; name) match the
//! store's own order; names appear in Deals and Events; `Enter` on a segment in Insights
//! lists the store's members of it.

mod console_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use console_support::tmux::{Tmux, WAIT, available, highlighted, highlighted_id, plain, position};

const MEMBERS: u64 = 2_500;
/// Rows a page moves at 50 lines (the screen less header, tabs, hints, status and borders).
const PAGE: u64 = 42;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_onepoint"))
}

fn seed(dir: &Path) {
    let out = Command::new(bin())
        .args(["--data"])
        .arg(dir)
        .args(["seed", "--members", &MEMBERS.to_string(), "--deals", "6000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "seed: {out:?}");
}

/// Polls the styled screen until `key` reads the same value from two captures in a row, with
/// nothing loading (no `working` spinner in the header), and returns that capture and value.
/// tmux can be read while the console is half way through writing a frame (under load the
/// new title can sit above the old highlight), so one capture is not enough to trust: a
/// frame that two captures agree on has been written whole.
fn settled<K: PartialEq>(t: &Tmux, what: &str, key: impl Fn(&str) -> Option<K>) -> (String, K) {
    let start = Instant::now();
    let mut before: Option<K> = None;
    loop {
        let styled = t.screen_styled();
        let idle = !plain(&styled).contains(" working ");
        match key(&styled).filter(|_| idle) {
            Some(k) if before.as_ref() == Some(&k) => return (styled, k),
            k => before = k,
        }
        if start.elapsed() > WAIT {
            panic!("{what} never settled; the screen:\n{}", plain(&styled));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until a whole frame shows `pos` in the title and returns the highlighted row's id
/// read from that same frame.
fn at(t: &Tmux, name: &str, pos: u64) -> u64 {
    let (_, (_, id)) = settled(t, &format!("{name} {pos} / ..."), |styled| {
        let (p, _) = position(&plain(styled), name)?;
        (p == pos).then(|| (highlighted(styled), highlighted_id(styled)))
    });
    id.expect("a highlighted row")
}

#[test]
fn whole_table_navigation_selection_sorts_and_names_under_live_writes() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    seed(&store);
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "[console]\ntheme = \"mono\"\n").unwrap();
    let exit_file = dir.path().join("exit");
    let script = format!(
        "ONEPOINT_CONFIG={cfg} XDG_STATE_HOME={state} {bin} --data {store} demo --rate 40; echo $? > {exit}; sleep 30",
        cfg = cfg.display(),
        state = dir.path().join("state").display(),
        bin = bin().display(),
        store = store.display(),
        exit = exit_file.display(),
    );
    let t = Tmux::start("live", 200, 50, &script);
    t.wait_for("Members 1 / ");

    // j, one row at a time, across the first window's end (120 rows): every row in order.
    // In id order the ids are the positions (ids are dense), so a skip would show.
    assert_eq!(at(&t, "Members", 1), 1);
    for pos in 2..=135 {
        t.keys(&["j"]);
        assert_eq!(at(&t, "Members", pos), pos, "j to row {pos}");
    }

    // g back to the true first row, then PgDn a page at a time across several windows.
    t.keys(&["g"]);
    assert_eq!(at(&t, "Members", 1), 1);
    for k in 1..=14 {
        t.keys(&["PageDown"]);
        let pos = 1 + k * PAGE;
        assert_eq!(at(&t, "Members", pos), pos, "PgDn {k}");
    }

    // G: the last row of the whole table. Joins keep arriving, so by the time the screen is
    // read a few newer members may sit below it: exactly as many as the total grew by.
    t.keys(&["G"]);
    let (styled, (last, total, _)) = settled(&t, "the last row", |styled| {
        let (p, total) = position(&plain(styled), "Members")?;
        let rows: Vec<&str> = styled.lines().filter(|l| l.starts_with('│')).collect();
        (p >= MEMBERS).then(|| (p, total, rows.join("\n")))
    });
    assert_eq!(highlighted_id(&styled), Some(last));
    let below = styled
        .lines()
        .skip_while(|l| !(l.starts_with('│') && l.contains("\u{1b}[7m")))
        .skip(1)
        .map(plain)
        .take_while(|l| {
            l.trim_start_matches('│')
                .split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<u64>().is_ok())
        })
        .count() as u64;
    assert_eq!(below, total - last, "G lands on the last row there was");
    // ...and k walks back one row at a time, across the window's start.
    for back in 1..=130 {
        t.keys(&["k"]);
        assert_eq!(at(&t, "Members", last - back), last - back, "k {back}");
    }

    // `w` names the highlighted member.
    let member = highlighted_id(&t.screen_styled()).unwrap();
    t.keys(&["w"]);
    let s = t.wait_until("the withdraw confirm or refusal", |s| {
        s.contains(&format!("Withdraw member {member}?")) || s.contains("has already withdrawn")
    });
    if s.contains("has already withdrawn") {
        assert!(s.contains(&format!("member {member} ")), "{s}");
    } else {
        t.keys(&["n"]);
        t.wait_for("nothing was written");
    }

    // Deals, newest first: hold a deal while new deals arrive above it.
    t.keys(&["2"]);
    // The tab opens on the newest deal, but the first deal to arrive moves it to row 2
    // within 25 ms: wait for the tab, not for a position no capture may catch.
    t.wait_for("╭ Deals ");
    // New deals arrive above at 40 a second and move the held deal down at once, so its
    // position is never still long enough to read. What `j` must do is exact all the same:
    // every deal is listed, newest first, so the row below deal N is deal N-1, whatever
    // arrived above in the meantime.
    let mut held = settled(&t, "a highlighted deal", highlighted_id).1;
    for _ in 0..3 {
        t.keys(&["j"]);
        let below = held - 1;
        settled(&t, &format!("deal {below} highlighted"), |styled| {
            (highlighted_id(styled) == Some(below)).then_some(below)
        });
        held = below;
    }
    let s = t.wait_until("+N new above the held deal", |s| s.contains(" new "));
    std::thread::sleep(Duration::from_millis(1_500));
    let styled = t.screen_styled();
    assert_eq!(
        highlighted_id(&styled),
        Some(held),
        "the selection follows the deal:\n{s}"
    );
    let (pos, _) = position(&t.screen(), "Deals").unwrap();
    assert!(pos > 4, "new deals above moved it down to {pos}");

    // Names beside member ids on every deal row.
    let row = highlighted(&styled).unwrap();
    let after_date = row.split(':').nth(1).expect("a date in the row");
    let member_cell: Vec<&str> = after_date.split_whitespace().skip(1).take(2).collect();
    assert!(
        member_cell.len() == 2
            && member_cell[0].parse::<u64>().is_ok()
            && !member_cell[1].starts_with('#'),
        "the member's name beside its id: {row}"
    );

    // `c` names the highlighted deal (a confirm, or at once why it cannot be cancelled).
    t.keys(&["c"]);
    let s = t.wait_until("the cancel confirm or refusal", |s| {
        s.contains(&format!("Cancel deal {held}?")) || s.contains(&format!("deal {held} "))
    });
    if s.contains(&format!("Cancel deal {held}?")) {
        t.keys(&["Escape"]);
        // A key sent right after Escape can reach the console as Alt+key (the terminal's
        // escape prefix), leaving the dialog open: wait for it to close first.
        t.wait_until("the cancel confirm closed", |s| {
            !s.contains(&format!("Cancel deal {held}?"))
        });
    }

    // Events: names beside member ids.
    t.keys(&["5"]);
    let s = t.wait_until("a deal event with a member name", |s| {
        s.lines().any(|l| {
            l.split("· member ").nth(1).is_some_and(|rest| {
                let mut w = rest.split_whitespace();
                w.next().is_some_and(|id| id.parse::<u64>().is_ok())
                    && w.next().is_some_and(|name| !name.starts_with('#'))
            })
        })
    });
    assert!(s.contains("Events · "));

    // A global sort: pause the traffic, sort members by balance (highest first) and compare
    // the top rows with the store's own order once the console has closed.
    t.keys(&["P"]);
    t.wait_for("demo traffic paused");
    std::thread::sleep(Duration::from_millis(1_500));
    t.keys(&["1"]);
    t.keys(&["B"]);
    t.wait_for("sort balance ▼");
    std::thread::sleep(Duration::from_millis(2_000));
    let s = t.wait_for("sort balance ▼");
    let shown: Vec<u64> = s
        .lines()
        .filter(|l| l.starts_with('│'))
        .filter_map(|l| {
            l.trim_start_matches('│')
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .take(10)
        .collect();
    assert_eq!(shown.len(), 10, "{s}");

    // The same column the other way (`S`, lowest first), and by name (`N`): each the
    // store's own order, checked against it below.
    t.keys(&["S"]);
    let lowest = top_ids(&t, "sort balance ▲");
    // Last activity (`L`, the most recent first) and its reverse.
    t.keys(&["L"]);
    let recent = top_ids(&t, "sort last activity ▼");
    t.keys(&["S"]);
    let least_recent = top_ids(&t, "sort last activity ▲");
    t.keys(&["N"]);
    let by_name = top_ids(&t, "sort name ▲");
    // Deals by points (`O`, the most first), and the other way.
    t.keys(&["2"]);
    t.keys(&["O"]);
    let most_points = top_ids(&t, "sort points ▼");
    t.keys(&["S"]);
    let fewest_points = top_ids(&t, "sort points ▲");
    // By date (`D`, a deal's own date: the newest first), and the other way.
    t.keys(&["D"]);
    let newest = top_ids(&t, "sort date ▼");
    t.keys(&["S"]);
    let oldest = top_ids(&t, "sort date ▲");
    t.keys(&["1"]);

    // Insights: Enter on a segment lists its members (in the Members tab's sort, by name
    // now), titled with the report's count; Esc comes back. The traffic is still paused.
    t.keys(&["6"]);
    t.keys(&["v"]);
    t.keys(&["v"]);
    // The table's row (the chart's axis labels start with the name too): its count.
    let count_of = |s: &str| {
        s.lines().find_map(|l| {
            let mut w = l.strip_prefix("│champions ")?.split_whitespace();
            let n = w.next()?;
            n.replace(',', "").parse::<u64>().ok()?;
            Some(n.to_string())
        })
    };
    let s = t.wait_until("the segments table", |s| count_of(s).is_some());
    let count = count_of(&s).unwrap();
    t.keys(&["Enter"]);
    let title = format!("segment: champions ({count})");
    let champions = top_ids(&t, &title);
    assert!(!champions.is_empty(), "no champions listed");
    let s = t.screen();
    assert!(s.contains("Esc back to Insights"), "{s}");
    t.keys(&["Escape"]);
    t.wait_until("Insights again", |s| {
        count_of(s).is_some() && !s.contains("segment: ")
    });
    t.keys(&["q"]);
    let start = std::time::Instant::now();
    while !exit_file.exists() && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(std::fs::read_to_string(&exit_file).unwrap().trim(), "0");
    let out = Command::new(bin())
        .arg("--data")
        .arg(&store)
        .args(["--json", "member", "list", "--limit", "10000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut by_balance: Vec<(i64, u64)> = all
        .iter()
        .map(|m| {
            (
                (m["point"].as_f64().unwrap() * 100.0).round() as i64,
                m["memberId"].as_u64().unwrap(),
            )
        })
        .collect();
    // The balance index's order, highest first (ties: the higher id first).
    by_balance.sort_by(|a, b| b.cmp(a));
    let store_top: Vec<u64> = by_balance.iter().take(10).map(|x| x.1).collect();
    assert_eq!(
        shown, store_top,
        "the console's top balances are the store's"
    );
    // Lowest first: the index's order ascending (ties: the lower id first).
    by_balance.sort();
    let store_low: Vec<u64> = by_balance.iter().take(10).map(|x| x.1).collect();
    assert_eq!(
        lowest, store_low,
        "the console's lowest balances are the store's"
    );
    // By last activity: the account's, never-active members below every instant, then
    // the id.
    let mut by_activity: Vec<(Option<i64>, u64)> = all
        .iter()
        .map(|m| {
            let at = m["lastActivity"].as_str().map(|t| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .unwrap()
                    .timestamp_millis()
            });
            (at, m["memberId"].as_u64().unwrap())
        })
        .collect();
    by_activity.sort();
    let store_least: Vec<u64> = by_activity.iter().take(10).map(|x| x.1).collect();
    by_activity.reverse();
    let store_recent: Vec<u64> = by_activity.iter().take(10).map(|x| x.1).collect();
    assert_eq!(
        recent, store_recent,
        "most recently active: the store's order"
    );
    assert_eq!(
        least_recent, store_least,
        "least recently active: the store's order"
    );
    // Deals by points, then id, from every deal the store holds (read in id order,
    // page by page: there may be more than a CLI list shows).
    let core = onepoint::domain::core::Core::open(
        &store,
        onepoint::domain::core::CoreOptions {
            rates: onepoint::domain::Rates::default(),
            zone: chrono::FixedOffset::east_opt(0).unwrap(),
            clock: onepoint::domain::Clock::System,
        },
    )
    .unwrap();
    let mut by_points: Vec<(i64, u64)> = Vec::new();
    let mut by_date: Vec<(i64, u64)> = Vec::new();
    let mut anchor = onepoint::domain::Anchor::First;
    loop {
        let w = core
            .deal_window(&onepoint::domain::DealWindow {
                oldest_first: true,
                anchor,
                limit: 10_000,
                ..Default::default()
            })
            .unwrap();
        by_points.extend(w.rows.iter().map(|d| (d.point.0, d.id.0)));
        by_date.extend(w.rows.iter().map(|d| (d.deal_date, d.id.0)));
        match w.rows.last() {
            Some(d) if w.more_after => anchor = onepoint::domain::Anchor::After(d.id),
            _ => break,
        }
    }
    assert_eq!(
        by_points.len() as u64,
        core.info().unwrap().deals,
        "every deal read"
    );
    drop(core);
    by_points.sort();
    let store_fewest: Vec<u64> = by_points.iter().take(10).map(|x| x.1).collect();
    by_points.reverse();
    let store_most: Vec<u64> = by_points.iter().take(10).map(|x| x.1).collect();
    assert_eq!(
        most_points, store_most,
        "deals with the most points: the store's order"
    );
    assert_eq!(
        fewest_points, store_fewest,
        "deals with the fewest points: the store's order"
    );
    by_date.sort();
    let store_oldest: Vec<u64> = by_date.iter().take(10).map(|x| x.1).collect();
    by_date.reverse();
    let store_newest: Vec<u64> = by_date.iter().take(10).map(|x| x.1).collect();
    assert_eq!(
        newest, store_newest,
        "the newest deals by date: the store's order"
    );
    assert_eq!(
        oldest, store_oldest,
        "the oldest deals by date: the store's order"
    );
    // By name: the lowercased name, then the id.
    let mut names: Vec<(String, u64)> = all
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_lowercase(),
                m["memberId"].as_u64().unwrap(),
            )
        })
        .collect();
    names.sort();
    let store_names: Vec<u64> = names.iter().take(10).map(|x| x.1).collect();
    assert_eq!(
        by_name, store_names,
        "the console's name order is the store's"
    );
    // The champions listed are the store's champions (the members export names each
    // member's segment), first by name.
    let out = Command::new(bin())
        .arg("--data")
        .arg(&store)
        .args(["export", "members", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let exported: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut champs: Vec<(String, u64)> = exported
        .iter()
        .filter(|m| m["segment"].as_str() == Some("champions"))
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_lowercase(),
                m["memberId"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(champs.len().to_string(), count.replace(',', ""));
    champs.sort();
    let store_champs: Vec<u64> = champs.iter().take(champions.len()).map(|x| x.1).collect();
    assert_eq!(
        champions, store_champs,
        "the segment's members are the store's"
    );
}

/// The first ids (at most 10) of the table once a whole, idle frame shows `marker`.
fn top_ids(t: &Tmux, marker: &str) -> Vec<u64> {
    settled(t, marker, |styled| {
        let s = plain(styled);
        s.contains(marker).then(|| {
            s.lines()
                .filter(|l| l.starts_with('│'))
                .filter_map(|l| {
                    l.trim_start_matches('│')
                        .split_whitespace()
                        .next()?
                        .parse::<u64>()
                        .ok()
                })
                .take(10)
                .collect::<Vec<u64>>()
        })
    })
    .1
}
