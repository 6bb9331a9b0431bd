//! The event feed and the service endpoints: `GET /events?after=N` as Server-Sent Events
//! (`id:` is the offset, `Last-Event-ID` resumes) or a JSON page with
//! `Accept: application/json`; `GET /events/wait` (long poll); `/info`, `/check`, `/health`.
//!
//! Followers never hold a thread while they wait: one `Hub` thread per server calls the
//! port's blocking `wait_events` in a loop, reads each new event once, renders its SSE frame
//! once, and publishes the tip (the latest offset and the last `TIP_FRAMES` frames) on a
//! `tokio::sync::watch`, which SSE streams and long polls await (a client that leaves drops
//! its future, and with it everything it held). A follower at the tip takes the shared
//! frames; one that is behind reads the log a page at a time through a few shared blocking
//! slots, and only when its socket took the previous page, so a slow reader is paced by its
//! own connection and costs one page of memory at most.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde_json::json;
use tokio::sync::watch;

use super::reply::{Answer, AppState, Params, blocking, ok, refusal};
use crate::api::Port;
use crate::api::{Error, Result};
use crate::domain::Event;
use crate::domain::query::{MAX_PAGE, parse_event_offset};

/// Events per read of the log (one page of a follower's memory).
const FEED_CHUNK: usize = 256;
/// Frames the tip keeps: a follower less than this behind never reads the log.
const TIP_FRAMES: usize = 1024;
/// How long one blocking wait of the hub lasts before it checks whether to stop.
const HUB_WAIT: Duration = Duration::from_millis(250);
/// The longest long poll a client may ask of `/events/wait`.
const MAX_WAIT_MS: usize = 30_000;
/// Comment lines on an idle stream: they also tell a departed client's stream to end.
const SSE_PING: Duration = Duration::from_secs(5);

/// What the hub publishes: the latest offset and the SSE frames of the last events, each
/// rendered once and shared by every follower.
#[derive(Debug, Default)]
pub struct Tip {
    pub latest: u64,
    frames: VecDeque<(u64, Bytes)>,
}

impl Tip {
    /// The frames after `after`, when the tip still holds all of them.
    fn after(&self, after: u64) -> Option<impl Iterator<Item = &Bytes>> {
        let first = self.frames.front()?.0;
        (first <= after.saturating_add(1)).then(|| {
            self.frames
                .iter()
                .filter(move |(o, _)| *o > after)
                .map(|(_, f)| f)
        })
    }
}

/// One event as an SSE frame: `id:` its offset, `event:` its type, `data:` its JSON.
fn frame(e: &Event) -> Bytes {
    let data = serde_json::to_string(e).unwrap_or_default();
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {data}\n\n",
        e.offset,
        e.body.event_type()
    ))
}

/// The thread that turns the port's blocking `wait_events` into a `watch` of the tip.
/// Stops (within `HUB_WAIT`) when dropped.
pub struct Hub {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hub {
    pub fn start(port: Arc<dyn Port>) -> Result<(Hub, watch::Receiver<Arc<Tip>>)> {
        let (tx, rx) = watch::channel(Arc::new(Tip::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("onepoint-feed".into())
            .spawn(move || hub_loop(port.as_ref(), &tx, &flag))
            .map_err(|e| Error::system(format!("cannot start the feed thread: {e}")))?;
        Ok((
            Hub {
                stop,
                thread: Some(thread),
            },
            rx,
        ))
    }
}

fn hub_loop(port: &dyn Port, tx: &watch::Sender<Arc<Tip>>, stop: &AtomicBool) {
    // Start at the log's end: followers behind it read the log themselves.
    let mut frames: VecDeque<(u64, Bytes)> = VecDeque::new();
    let mut latest = port.wait_events(0, Duration::ZERO).unwrap_or(0);
    let mut read_to = latest;
    tx.send_replace(Arc::new(Tip {
        latest,
        frames: VecDeque::new(),
    }));
    while !stop.load(Ordering::Relaxed) {
        match port.wait_events(latest, HUB_WAIT) {
            Ok(n) if n > latest => latest = n,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "the event feed cannot read the log");
                std::thread::sleep(HUB_WAIT);
                continue;
            }
        }
        while read_to < latest {
            match port.events(read_to, FEED_CHUNK) {
                Ok(evs) if !evs.is_empty() => {
                    read_to = evs.last().map_or(read_to, |e| e.offset);
                    for e in &evs {
                        frames.push_back((e.offset, frame(e)));
                    }
                    while frames.len() > TIP_FRAMES {
                        frames.pop_front();
                    }
                }
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "the event feed cannot read the log");
                    break;
                }
            }
        }
        // The tip covers what was read, so a follower never skips past an unread event.
        tx.send_replace(Arc::new(Tip {
            latest: read_to,
            frames: frames.clone(),
        }));
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start_offset(headers: &HeaderMap, p: &Params) -> Result<u64> {
    if let Some(id) = headers.get("last-event-id") {
        // A resuming EventSource: continue right after the last event it saw.
        let t = id
            .to_str()
            .map_err(|_| Error::invalid("Last-Event-ID", "must be an event offset"))?;
        return Ok(parse_event_offset("Last-Event-ID", t)?);
    }
    Ok(p.parse(&["after"], parse_event_offset)?.unwrap_or(0))
}

/// One page of the log after `after`, through the shared feed slots.
async fn read_page(st: &AppState, after: u64, limit: usize) -> Result<Vec<Event>> {
    let permit = st
        .feed_reads
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| Error::store("the server is stopping"))?;
    let port = st.port.clone();
    blocking(move || {
        let _slot = permit;
        port.events(after, limit)
    })
    .await
}

pub async fn events(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let p = Params(q);
    let after = start_offset(&headers, &p)?;
    let wants_json = headers
        .get(ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if wants_json {
        let limit = p.limit(&["limit", "size"], 1000.min(MAX_PAGE))?;
        let evs = read_page(&st, after, limit).await?;
        let last = evs.last().map_or(after, |e| e.offset);
        return ok(&json!({"events": evs, "after": after, "last": last}));
    }
    let mut r = Body::from_stream(stream(st, after)).into_response();
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(r)
}

struct Follow {
    st: AppState,
    tip: watch::Receiver<Arc<Tip>>,
    after: u64,
    buffer: VecDeque<Bytes>,
}

/// Follows the log from `after`: each event once, in order, until the server shuts down or
/// the client leaves (the stream is dropped with its connection). Frames at the tip are
/// the hub's shared ones; a follower behind it renders the pages it reads.
fn stream(st: AppState, after: u64) -> impl Stream<Item = std::result::Result<Bytes, Infallible>> {
    let state = Follow {
        tip: st.latest.clone(),
        st,
        after,
        buffer: VecDeque::new(),
    };
    futures::stream::unfold(state, |mut f| async move {
        loop {
            if let Some(frame) = f.buffer.pop_front() {
                return Some((Ok(frame), f));
            }
            if *f.st.shutdown.borrow() {
                return None;
            }
            let tip = f.tip.borrow_and_update().clone();
            if tip.latest > f.after {
                if let Some(frames) = tip.after(f.after) {
                    f.buffer.extend(frames.cloned());
                    f.after = tip.latest;
                    continue;
                }
                match read_page(&f.st, f.after, FEED_CHUNK).await {
                    Ok(evs) if !evs.is_empty() => {
                        f.after = evs.last().map_or(f.after, |e| e.offset);
                        f.buffer.extend(evs.iter().map(frame));
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let text = e.to_string().replace('\n', " ");
                        let frame = Bytes::from(format!("event: error\ndata: {text}\n\n"));
                        return Some((Ok(frame), f));
                    }
                }
            }
            let mut stop = f.st.shutdown.clone();
            tokio::select! {
                r = f.tip.changed() => if r.is_err() { return None },
                _ = stop.wait_for(|s| *s) => return None,
                _ = tokio::time::sleep(SSE_PING) => {
                    return Some((Ok(Bytes::from_static(b":\n\n")), f));
                }
            }
        }
    })
}

/// Long poll: answers `{"latest":N}` once an event after `after` exists or the wait ends.
/// Waits on the hub's `watch`, so a thousand long polls hold no thread.
pub async fn wait(State(st): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Answer {
    let p = Params(q);
    let after = start_offset(&HeaderMap::new(), &p)?;
    let ms = p.count(&["timeoutMs"], 10_000, 0, MAX_WAIT_MS)?;
    let mut tip = st.latest.clone();
    let mut stop = st.shutdown.clone();
    tokio::select! {
        _ = tokio::time::timeout(
            Duration::from_millis(ms as u64),
            tip.wait_for(|t| t.latest > after),
        ) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
    let now = tip.borrow().latest;
    ok(&json!({"latest": now}))
}

pub async fn info(State(st): State<AppState>) -> Answer {
    let i = blocking(move || st.port.info()).await?;
    ok(&json!(i))
}

/// The whole-log replay: operator-only (see `auth`), and never two at once.
pub async fn check(State(st): State<AppState>) -> Answer {
    if st.checking.swap(true, Ordering::AcqRel) {
        return Ok(refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "check",
            "is already running; ask again when it has finished",
            "/check",
        ));
    }
    struct Running(Arc<AtomicBool>);
    impl Drop for Running {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Release);
        }
    }
    let running = Running(st.checking.clone());
    let port = st.port.clone();
    // The flag clears when the replay ends, even if the client left before.
    let c = blocking(move || {
        let _running = running;
        port.check()
    })
    .await?;
    ok(&json!(c))
}

/// Liveness, open without a token; `service` tells our server from others.
pub async fn health() -> Response {
    axum::Json(json!({"status": "UP", "service": "onepoint", "version": env!("CARGO_PKG_VERSION")}))
        .into_response()
}
