//! `onepoint-bench kills --data DIR [--rounds N] [--members N]`: kill -9 cycles on a kept
//! store, as an operator's crash would meet it. Each round starts `onepoint-bench write`
//! on the store (the ingest mix, 64 submitters), kills it with SIGKILL after 1-5 s of
//! writing (a different time each round), then opens the store in a new process
//! (`onepoint-bench open`), which reports the open's time and the RSS after it. One JSON
//! line per round; the first open that fails ends the run with exit status 1 and the
//! store left as the kill left it (copy it before anything else opens it). Made to hunt the failure in the README ("A known failure"): one cycle
//! in about 170 left a 10M-deal store sled could not open.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::Opts;

pub fn run(opts: &Opts) -> Result<(), String> {
    let dir = opts
        .text("data")
        .ok_or("--data DIR is required (a kept store)")?;
    if !std::path::Path::new(dir).join("sled").is_dir() {
        return Err(format!(
            "--data {dir}: no store there (kills runs on a kept store: make one with `ingest --data DIR`)"
        ));
    }
    let rounds = opts.num("rounds", 20)?;
    let members = opts.num("members", 100_000)?;
    if members == 0 {
        return Err("--members must be at least 1".into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 1..=rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let write_ms = 1_000 + x % 4_000;
        crate::session::kill_a_writer(
            std::path::Path::new(dir),
            members,
            Duration::from_millis(write_ms),
        )
        .map_err(|e| format!("round {round}: {e}"))?;
        let t0 = Instant::now();
        let opened = Command::new(&exe)
            .args(["open", "--data", dir])
            .output()
            .map_err(|e| e.to_string())?;
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        let out = String::from_utf8_lossy(&opened.stdout);
        let reported: Option<serde_json::Value> = serde_json::from_str(out.trim()).ok();
        let ok = opened.status.success() && reported.is_some();
        println!(
            "{}",
            serde_json::json!({"round": round, "write_ms": write_ms, "open_ok": ok,
                "open_process_ms": ms,
                "open_ms": reported.as_ref().and_then(|r| r.get("open_ms").cloned()),
                "rss_mb": reported.as_ref().and_then(|r| r.get("rss_mb").cloned()),
                "deals": reported.as_ref().and_then(|r| r.get("deals").cloned())})
        );
        if !ok {
            let err = String::from_utf8_lossy(&opened.stderr);
            let last = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            return Err(format!(
                "round {round}: the store did not open after the kill: {last} (the store at {dir} is left as the kill left it)"
            ));
        }
    }
    Ok(())
}
