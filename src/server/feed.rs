//! The event feed and the service endpoints: `GET /events?after=N` as Server-Sent Events
//! (`id:` is the offset, `Last-Event-ID` resumes) or a JSON page with
//! `Accept: application/json`; `GET /events/wait` (long poll for the port's `wait_events`);
//! `/info`, `/check`, `/health`.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::header::ACCEPT;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde_json::json;

use super::reply::{Answer, AppState, Params, blocking, ok};
use crate::api::{Error, Result};
use crate::domain::Event;

/// Events per read of the log.
const FEED_CHUNK: usize = 512;
/// How long one blocking wait for new events lasts before the stream checks for shutdown.
const FEED_WAIT: Duration = Duration::from_secs(2);
/// The longest long poll a client may ask of `/events/wait`.
const MAX_WAIT: Duration = Duration::from_secs(30);

fn start_offset(headers: &HeaderMap, p: &Params) -> Result<u64> {
    if let Some(id) = headers.get("last-event-id") {
        // A resuming EventSource: continue right after the last event it saw.
        return id
            .to_str()
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| Error::invalid("Last-Event-ID", "must be an event offset"));
    }
    match p.text(&["after"]) {
        None => Ok(0),
        Some(t) => t
            .parse()
            .map_err(|_| Error::invalid("after", "must be an event offset (0 or more)")),
    }
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
        let limit = p.count(&["limit", "size"], 1000, 1, crate::domain::query::MAX_PAGE)?;
        let port = st.port.clone();
        let evs = blocking(move || port.events(after, limit)).await?;
        let last = evs.last().map_or(after, |e| e.offset);
        return ok(&json!({"events": evs, "after": after, "last": last}));
    }
    Ok(Sse::new(stream(st, after))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

struct Follow {
    st: AppState,
    after: u64,
    buffer: VecDeque<Event>,
}

/// Follows the log from `after`: each event once, in order, until the server shuts down.
fn stream(
    st: AppState,
    after: u64,
) -> impl Stream<Item = std::result::Result<SseEvent, Infallible>> {
    let state = Follow {
        st,
        after,
        buffer: VecDeque::new(),
    };
    futures::stream::unfold(state, |mut f| async move {
        loop {
            if let Some(e) = f.buffer.pop_front() {
                let sse = SseEvent::default()
                    .id(e.offset.to_string())
                    .event(e.body.event_type())
                    .data(serde_json::to_string(&e).unwrap_or_default());
                return Some((Ok(sse), f));
            }
            if *f.st.shutdown.borrow() {
                return None;
            }
            let (port, after) = (f.st.port.clone(), f.after);
            match blocking(move || port.events(after, FEED_CHUNK)).await {
                Ok(evs) if !evs.is_empty() => {
                    f.after = evs.last().map_or(after, |e| e.offset);
                    f.buffer.extend(evs);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    let sse = SseEvent::default().event("error").data(e.to_string());
                    return Some((Ok(sse), f));
                }
            }
            let port = f.st.port.clone();
            let mut stop = f.st.shutdown.clone();
            tokio::select! {
                _ = blocking(move || port.wait_events(after, FEED_WAIT)) => {}
                _ = stop.changed() => return None,
            }
        }
    })
}

/// Long poll: answers `{"latest":N}` once an event after `after` exists or the wait ends.
pub async fn wait(State(st): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Answer {
    let p = Params(q);
    let after = start_offset(&HeaderMap::new(), &p)?;
    let ms = p.count(&["timeoutMs"], 10_000, 0, MAX_WAIT.as_millis() as usize)?;
    let port = st.port.clone();
    let mut stop = st.shutdown.clone();
    let latest = tokio::select! {
        r = blocking(move || port.wait_events(after, Duration::from_millis(ms as u64))) => r?,
        _ = stop.changed() => after,
    };
    ok(&json!({"latest": latest}))
}

pub async fn info(State(st): State<AppState>) -> Answer {
    let i = blocking(move || st.port.info()).await?;
    ok(&json!(i))
}

pub async fn check(State(st): State<AppState>) -> Answer {
    let c = blocking(move || st.port.check()).await?;
    ok(&json!(c))
}

/// Liveness, open without a token; `service` tells our server from others.
pub async fn health() -> Response {
    axum::Json(json!({"status": "UP", "service": "onepoint", "version": env!("CARGO_PKG_VERSION")}))
        .into_response()
}
