//! The `feed` scenario (SPEC 8): writers append deals (the `traffic` mix) at `--rate`
//! events/s (default 10,000)
//! through the port; a follower tails the log exactly as the console's does and hands
//! batches to the Events tab, which draws at up to 60 fps at 200x50. Reports the frames per
//! second, frame times, and whether every event was counted (received == written, no gaps).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use onepoint::app::action::Action;
use onepoint::app::state::Tab;
use onepoint::domain::{Command, Keyed, MemberId, MerchantId};
use onepoint::headless::Headless;
use onepoint::traffic::{Generator, Mix, Spread};
use rand::SeedableRng;

use crate::Opts;
use crate::render::{open_store, percentile, rss_mb};

const FRAME: Duration = Duration::from_micros(16_667);
const WRITERS: usize = 16;
const WRITE_CHUNK: u64 = 256;

pub fn run(opts: &Opts) -> Result<(), String> {
    let rate = opts.num("rate", 10_000)?;
    let secs = opts.num("seconds", 5)?;
    let (port, info, _tmp) = open_store(opts, 10_000, 0)?;
    let members = info.members.max(1);
    let start_offset = info.events;

    let mut h = Headless::open(&*port, 200, 50).map_err(|e| e.to_string())?;
    h.state.tab = Tab::Events;

    let stop = Arc::new(AtomicBool::new(false));
    let issued = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (port, stop, issued) = (port.clone(), stop.clone(), issued.clone());
            std::thread::spawn(move || {
                let rng = rand::rngs::StdRng::seed_from_u64(w as u64);
                let mut traffic = Generator::new(rng, Mix::DEALS, Spread::Uniform)
                    .with_members((1..=members).map(MemberId))
                    .with_merchants((1..=15).map(MerchantId));
                while !stop.load(Ordering::Relaxed) {
                    let allowed = (t0.elapsed().as_secs_f64() * rate as f64) as u64;
                    let have = issued.load(Ordering::Relaxed);
                    if have >= allowed {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                    let k = (allowed - have).min(WRITE_CHUNK);
                    issued.fetch_add(k, Ordering::Relaxed);
                    let batch = (0..k)
                        .map(|_| Keyed::new(Command::Deal(traffic.deal(None)), None))
                        .collect();
                    for o in port.execute(batch).into_iter().flatten() {
                        traffic.learn(&o);
                    }
                }
            })
        })
        .collect();

    // The follower: the console's worker loop, on a plain thread.
    let (tx, rx) = std::sync::mpsc::channel();
    let follower = {
        let (port, stop) = (port.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut after = start_offset;
            let mut idle_after_stop = 0;
            loop {
                match port.events(after, onepoint::app::worker::FOLLOW_BATCH) {
                    Ok(b) if !b.is_empty() => {
                        after = b.last().map(|e| e.offset).unwrap_or(after);
                        if tx.send(b).is_err() {
                            return;
                        }
                    }
                    _ => {
                        if stop.load(Ordering::Relaxed) {
                            idle_after_stop += 1;
                            if idle_after_stop > 20 {
                                return;
                            }
                        }
                        let _ = port.wait_events(after, Duration::from_millis(50));
                    }
                }
            }
        })
    };

    let mut frame_ms = Vec::new();
    let mut frames = 0u64;
    let run_for = Duration::from_secs(secs);
    let mut writers_stopped = false;
    let mut next = Instant::now();
    loop {
        while let Ok(batch) = rx.try_recv() {
            h.act(&*port, Action::Events(batch));
        }
        let t = Instant::now();
        h.draw().map_err(|e| e.to_string())?;
        frame_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        frames += 1;
        if !writers_stopped && t0.elapsed() >= run_for {
            stop.store(true, Ordering::Relaxed);
            writers_stopped = true;
        }
        if writers_stopped && follower.is_finished() {
            while let Ok(batch) = rx.try_recv() {
                h.act(&*port, Action::Events(batch));
            }
            break;
        }
        next += FRAME;
        match next.checked_duration_since(Instant::now()) {
            Some(d) => std::thread::sleep(d),
            None => next = Instant::now(),
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    for w in writers {
        let _ = w.join();
    }
    let _ = follower.join();
    let written = port.info().map_err(|e| e.to_string())?.events - start_offset;
    let ev = &h.state.events;
    frame_ms.sort_by(f64::total_cmp);
    println!(
        "{{\"scenario\":\"feed\",\"target_events_per_s\":{rate},\"written\":{written},\"written_per_s\":{:.0},\"received\":{},\"missed\":{},\"gaps\":{},\"fps\":{:.1},\"frame_ms_p50\":{:.3},\"frame_ms_p99\":{:.3},\"ring\":{},\"rss_mb\":{:.1},\"seconds\":{:.2}}}",
        written as f64 / secs as f64,
        ev.received,
        written as i64 - ev.received as i64,
        ev.gaps,
        frames as f64 / elapsed,
        percentile(&frame_ms, 0.5),
        percentile(&frame_ms, 0.99),
        ev.ring.len(),
        rss_mb(),
        elapsed
    );
    Ok(())
}
