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
//! own connection and costs one page of memory at most. While no event stream follows
//! (`Streams`), the hub reads and renders nothing: it publishes the latest offset alone,
//! which is all a long poll needs, and a stream that arrives reads the log up to it (at
//! 11k deals/s over HTTP the frames nobody took cost 3% of the machine).
//!
//! Pacing (`Pacing`, `[server]` in the config): an event stream that sent frames from the
//! tip rests a `sse_tick` before it looks again, so under a stream of writes it wakes once a
//! tick and sends the tick's events as one chunk, not one wakeup and one write per event
//! (the first event after a quiet spell goes out at once). A long poll that finds fewer than a
//! page of new events lingers (`poll_linger`, from its arrival, never past its own
//! `timeoutMs`) for more before it answers, as Kafka's `fetch.min.bytes` /
//! `fetch.max.wait.ms` do: a poller that would be answered at once with one event and come
//! straight back is answered a few times a second with all of them.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
/// New events that answer a long poll at once, without its linger: a full page.
const POLL_PAGE: u64 = FEED_CHUNK as u64;
/// The most bytes of frames a follower sends as one chunk (its own copy of them).
const SSE_CHUNK_BYTES: usize = 16 * 1024;

/// How the feed paces its followers (see the module's notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// A long poll with fewer than a page of new events waits this long for more, counted
    /// from its arrival and never past its own `timeoutMs`. Zero: answer at once.
    pub poll_linger: Duration,
    /// An event stream sends frames at most once per tick. Zero: on every write.
    pub sse_tick: Duration,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            poll_linger: Duration::from_millis(250),
            sse_tick: Duration::from_millis(100),
        }
    }
}

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
            let from = self.frames.partition_point(|(o, _)| *o <= after);
            self.frames.range(from..).map(|(_, f)| f)
        })
    }
}

/// How many event streams follow the hub: it renders frames only while one does.
#[derive(Clone, Debug, Default)]
pub struct Streams(Arc<AtomicUsize>);

/// One event stream counted in `Streams` while it lives.
struct Following(Arc<AtomicUsize>);

impl Streams {
    fn follow(&self) -> Following {
        self.0.fetch_add(1, Ordering::SeqCst);
        Following(self.0.clone())
    }

    fn any(&self) -> bool {
        self.0.load(Ordering::SeqCst) > 0
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
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
    /// The hub, what it publishes, and the count of streams that want its frames.
    pub fn start(port: Arc<dyn Port>) -> Result<(Hub, watch::Receiver<Arc<Tip>>, Streams)> {
        let (tx, rx) = watch::channel(Arc::new(Tip::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let streams = Streams::default();
        let wanted = streams.clone();
        let thread = std::thread::Builder::new()
            .name("onepoint-feed".into())
            .spawn(move || hub_loop(port.as_ref(), &tx, &flag, &wanted))
            .map_err(|e| Error::system(format!("cannot start the feed thread: {e}")))?;
        Ok((
            Hub {
                stop,
                thread: Some(thread),
            },
            rx,
            streams,
        ))
    }
}

fn hub_loop(port: &dyn Port, tx: &watch::Sender<Arc<Tip>>, stop: &AtomicBool, streams: &Streams) {
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
        if !streams.any() {
            // Nobody takes frames: the tip is the offset alone. A stream counted from now
            // on finds no frames before it and reads the log up to `latest`, and the frames
            // rendered from the next wake on start right after it.
            frames.clear();
            read_to = latest;
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
    /// Counted in the hub's `Streams` until the stream ends.
    _following: Following,
    tip: watch::Receiver<Arc<Tip>>,
    after: u64,
    /// Frames taken but not yet sent: shared with the tip, or one page read from the log.
    buffer: VecDeque<Bytes>,
    /// After frames from the tip: when to look at it again (the writes between gather).
    rest_until: Option<tokio::time::Instant>,
}

impl Follow {
    /// The next chunk to send: buffered frames, joined up to `SSE_CHUNK_BYTES`, so a tick's
    /// events go out as one write.
    fn next_chunk(&mut self) -> Option<Bytes> {
        let first = self.buffer.pop_front()?;
        if self.buffer.is_empty() || first.len() >= SSE_CHUNK_BYTES {
            return Some(first);
        }
        let mut chunk = Vec::with_capacity(
            SSE_CHUNK_BYTES.min(first.len() + self.buffer.iter().map(Bytes::len).sum::<usize>()),
        );
        chunk.extend_from_slice(&first);
        while let Some(f) = self.buffer.front() {
            if chunk.len() + f.len() > SSE_CHUNK_BYTES {
                break;
            }
            chunk.extend_from_slice(f);
            self.buffer.pop_front();
        }
        Some(Bytes::from(chunk))
    }
}

/// Follows the log from `after`: each event once, in order, until the server shuts down or
/// the client leaves (the stream is dropped with its connection). Frames at the tip are
/// the hub's shared ones; a follower behind it renders the pages it reads.
fn stream(st: AppState, after: u64) -> impl Stream<Item = std::result::Result<Bytes, Infallible>> {
    let state = Follow {
        _following: st.streams.follow(),
        tip: st.latest.clone(),
        st,
        after,
        buffer: VecDeque::new(),
        rest_until: None,
    };
    futures::stream::unfold(state, |mut f| async move {
        loop {
            if let Some(chunk) = f.next_chunk() {
                return Some((Ok(chunk), f));
            }
            if *f.st.shutdown.borrow() {
                return None;
            }
            if let Some(until) = f.rest_until.take() {
                // Asleep, not watching the tip: a write wakes no one resting.
                let mut stop = f.st.shutdown.clone();
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => {}
                    _ = stop.wait_for(|s| *s) => return None,
                }
            }
            let tip = f.tip.borrow_and_update().clone();
            if tip.latest > f.after {
                if let Some(frames) = tip.after(f.after) {
                    f.buffer.extend(frames.cloned());
                    f.after = tip.latest;
                    let tick = f.st.feed.sse_tick;
                    f.rest_until = (!tick.is_zero()).then(|| tokio::time::Instant::now() + tick);
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

/// When a long poll answers: once an event after `after` exists and either a page of them
/// has or its linger is over, or when its own wait (`deadline`) ends. The latest offset.
async fn wait_for_page(
    tip: &mut watch::Receiver<Arc<Tip>>,
    after: u64,
    linger_until: tokio::time::Instant,
    deadline: tokio::time::Instant,
) -> u64 {
    let full = after.saturating_add(POLL_PAGE);
    let _ = tokio::time::timeout_at(deadline, tip.wait_for(|t| t.latest > after)).await;
    let _ = tokio::time::timeout_at(
        linger_until.min(deadline),
        tip.wait_for(|t| t.latest >= full),
    )
    .await;
    tip.borrow().latest
}

/// Long poll: answers `{"latest":N}` once events after `after` exist (after the linger, or
/// at once for a full page) or the wait ends. Waits on the hub's `watch`, so a thousand
/// long polls hold no thread.
pub async fn wait(State(st): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Answer {
    let p = Params(q);
    let after = start_offset(&HeaderMap::new(), &p)?;
    let ms = p.count(&["timeoutMs"], 10_000, 0, MAX_WAIT_MS)?;
    let arrived = tokio::time::Instant::now();
    let deadline = arrived + Duration::from_millis(ms as u64);
    let linger_until = arrived + st.feed.poll_linger;
    let mut tip = st.latest.clone();
    let mut stop = st.shutdown.clone();
    let now = tokio::select! {
        n = wait_for_page(&mut tip, after, linger_until, deadline) => n,
        _ = stop.wait_for(|s| *s) => st.latest.borrow().latest,
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::embedded::Embedded;
    use crate::domain::core::CoreOptions;
    use crate::domain::{Command, Keyed, NewMember};

    /// A member joins: two events (MemberCreated, PointCreated).
    fn join(port: &dyn Port, name: &str) {
        let member = NewMember {
            name: name.into(),
            phone: None,
            address: None,
        };
        for r in port.execute(vec![Keyed::new(Command::Join(member), None)]) {
            r.expect("the join is accepted");
        }
    }

    /// The tip once the hub has published offset `latest`.
    fn tip_at(rx: &mut watch::Receiver<Arc<Tip>>, latest: u64) -> Arc<Tip> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let tip = rx.borrow_and_update().clone();
            if tip.latest >= latest {
                return tip;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the hub never published {latest}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn offsets(tip: &Tip) -> Vec<u64> {
        tip.frames.iter().map(|(o, _)| *o).collect()
    }

    #[test]
    fn the_hub_renders_frames_only_while_an_event_stream_follows() {
        let dir = tempfile::tempdir().unwrap();
        let port: Arc<dyn Port> =
            Arc::new(Embedded::open_with(dir.path(), CoreOptions::default()).unwrap());
        let (hub, mut rx, streams) = Hub::start(port.clone()).unwrap();

        join(port.as_ref(), "Kim");
        let tip = tip_at(&mut rx, 2);
        assert_eq!(tip.latest, 2);
        assert!(offsets(&tip).is_empty(), "no stream: nothing rendered");

        // A stream arrives: the frames from the next events on, right after the tip it saw.
        let following = streams.follow();
        join(port.as_ref(), "Lee");
        let tip = tip_at(&mut rx, 4);
        assert_eq!(offsets(&tip), vec![3, 4]);
        let shared: Vec<u64> = tip
            .after(2)
            .expect("a stream at offset 2 takes the shared frames")
            .map(|f| {
                String::from_utf8_lossy(f)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .map(|id| id.trim_start_matches("id: ").parse().unwrap())
            .collect();
        assert_eq!(shared, vec![3, 4]);

        // It leaves: the frames go, and the tip is the offset alone again.
        drop(following);
        join(port.as_ref(), "Park");
        let tip = tip_at(&mut rx, 6);
        assert_eq!(tip.latest, 6);
        assert!(
            offsets(&tip).is_empty(),
            "the stream left: nothing rendered"
        );
        drop(hub);
    }
}
