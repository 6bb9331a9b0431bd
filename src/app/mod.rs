//! The console runtime (SPEC 5): input, actions, `update(state, action) -> effects`, the
//! keymap, per-tab state and forms, and a worker that runs effects against the port.
//! This file holds the loop: terminal setup and restore (panic hook included), and one
//! `tokio::select!` over key events, worker results and timers.

pub mod action;
pub mod confirms;
pub mod describe;
mod drill;
pub mod forms;
pub mod keymap;
pub mod loads;
pub mod modal;
pub mod palette;
pub mod state;
pub mod terminal;
pub mod update;
pub mod view_actions;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::api::Port;
use crate::api::Result;
use crate::domain::{Clock, Month};
use action::{Action, Effect};
use keymap::Keymap;
use state::{State, ThemeName};
use worker::Worker;

/// At most ~60 frames a second; a frame is drawn only when something changed.
const FRAME_PERIOD: Duration = Duration::from_millis(16);
/// How often the visible tab reloads when the data moved underneath it.
const REFRESH_PERIOD: Duration = Duration::from_millis(700);
const CLOCK_PERIOD: Duration = Duration::from_secs(1);
/// Actions taken in one go before drawing (keeps a fast feed from starving the screen).
const ACTIONS_PER_FRAME: usize = 256;

/// The knobs of live traffic the console steers (the demo's simulator implements it).
pub trait TrafficControl: Send + Sync + std::fmt::Debug {
    /// Operations a second.
    fn rate(&self) -> f64;
    fn paused(&self) -> bool;
    fn set(&self, rate: f64, paused: bool);
}

/// What the console starts with, built once by the composition root (`cli`) from the
/// command line and the config: the console reads neither.
#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    pub read_only: bool,
    /// Set by `onepoint demo`: show the DEMO badge.
    pub demo: bool,
    /// The demo's traffic simulator, steered with `+`, `-` and `P`.
    pub traffic: Option<Arc<dyn TrafficControl>>,
    /// The keys, defaults with the config's `[keys]` over them.
    pub keymap: Keymap,
    /// The theme, `NO_COLOR` already applied.
    pub theme: ThemeName,
    pub mouse: bool,
    /// The business time zone: it decides which month is "this month".
    pub zone: chrono::FixedOffset,
}

impl Default for ConsoleOptions {
    /// Writes allowed, the default keys and theme, UTC.
    fn default() -> ConsoleOptions {
        ConsoleOptions {
            read_only: false,
            demo: false,
            traffic: None,
            keymap: Keymap::default(),
            theme: ThemeName::default(),
            mouse: false,
            zone: crate::domain::CoreSettings::default().zone,
        }
    }
}

/// The state a console starts with for this port and these options (no I/O beyond `source`).
pub fn initial_state(port: &dyn Port, opts: &ConsoleOptions, clock: &Clock) -> Result<State> {
    let now = clock.now();
    let mut s = State::new(now, Month::of(now, opts.zone), opts.keymap.clone());
    s.zone = opts.zone;
    let src = port.source();
    s.header.kind = src.kind;
    s.header.location = src.location;
    s.header.link = port.link().label();
    s.read_only = opts.read_only || src.read_only;
    s.theme = opts.theme;
    s.mouse = opts.mouse;
    if opts.demo {
        s.demo = Some(match &opts.traffic {
            Some(t) => state::DemoInfo {
                rate: t.rate(),
                paused: t.paused(),
            },
            None => state::DemoInfo {
                rate: 0.0,
                paused: true,
            },
        });
    }
    Ok(s)
}

/// Runs the console until the user quits; returns the exit code.
pub fn run_console(port: Arc<dyn Port>, opts: ConsoleOptions) -> Result<i32> {
    let _log = terminal::init_logging();
    // For the console's whole run, memory freed anywhere goes back to the system at once
    // (jemalloc would hold it 10 s). Under live writes sled copies a leaf at every write
    // and frees the old copy: on mimalloc, a console on a 10M-deal store under `onepoint
    // demo --rate 2000` held 204-265 MB over 300 s, and 185-214 MB with this (RSS every
    // 15 s), at the same rate.
    let _purge = crate::domain::memory::PurgeAtOnce::start();
    let state = initial_state(&*port, &opts, &Clock::System)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        // What a thread cached goes back to the arena as it goes idle (see
        // `server::memory`).
        .on_thread_park(crate::domain::memory::collect_this_thread)
        .build()
        .map_err(|e| crate::api::Error::system(format!("cannot start the runtime: {e}")))?;
    let mut term = terminal::Terminal::enter(state.mouse)?;
    let r = rt.block_on(run_loop(&mut term, port, opts, state));
    term.leave();
    rt.shutdown_timeout(Duration::from_millis(200));
    tracing::info!("console closed");
    r
}

async fn run_loop(
    term: &mut terminal::Terminal,
    port: Arc<dyn Port>,
    opts: ConsoleOptions,
    mut state: State,
) -> Result<i32> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Action>();
    let worker = Worker::new(port.clone(), tx.clone());
    worker.follow_events();
    let (w, h) = term.size();
    let _ = tx.send(Action::Resize(w, h));
    let _ = tx.send(Action::Refresh);
    let mut input = EventStream::new();
    let mut frame = tokio::time::interval(FRAME_PERIOD);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut refresh = tokio::time::interval(REFRESH_PERIOD);
    let mut clock = tokio::time::interval(CLOCK_PERIOD);
    let mut dirty = true;
    let mut frames: u64 = 0;
    loop {
        let action = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(k))) => Action::Key(k),
                Some(Ok(TermEvent::Mouse(m))) => Action::Mouse(m),
                Some(Ok(TermEvent::Resize(w, h))) => Action::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    tracing::warn!("terminal input error: {e}");
                    continue;
                }
                None => break,
            },
            Some(a) = rx.recv() => a,
            _ = refresh.tick() => Action::Refresh,
            _ = clock.tick() => {
                // The link state may take a lock in the remote adapter: read it off the loop.
                let (port, tx) = (port.clone(), tx.clone());
                tokio::task::spawn_blocking(move || {
                    // Reads answered from the remote adapter's cache say so in the header.
                    let mut link = port.link().label();
                    if port.stale() {
                        link.push_str(" · showing stale data");
                    }
                    let _ = tx.send(Action::Tick {
                        now: Clock::System.now(),
                        link,
                        outbox: port.pending_outbox(),
                        sent: port.outbox_reports(),
                    });
                });
                continue;
            }
            _ = frame.tick() => {
                frames += 1;
                if state.busy() && frames.is_multiple_of(6) {
                    state.spinner += 1;
                    dirty = true;
                }
                if dirty {
                    term.draw(&state)?;
                    dirty = false;
                }
                continue;
            }
        };
        handle(&mut state, action, &worker, &opts, term);
        // Take what else is waiting before the next frame (a fast feed arrives in bursts).
        for _ in 0..ACTIONS_PER_FRAME {
            match rx.try_recv() {
                Ok(a) => handle(&mut state, a, &worker, &opts, term),
                Err(_) => break,
            }
        }
        dirty = true;
        if state.quit {
            break;
        }
    }
    Ok(0)
}

fn handle(
    state: &mut State,
    action: Action,
    worker: &Worker,
    opts: &ConsoleOptions,
    term: &mut terminal::Terminal,
) {
    for e in update::update(state, action) {
        match e {
            Effect::Yank(text) => term.yank(&text),
            Effect::SetMouse(on) => term.set_mouse(on),
            Effect::DemoRate { rate, paused } => {
                if let Some(t) = &opts.traffic {
                    t.set(rate, paused);
                }
            }
            other => worker.spawn(other),
        }
    }
}
