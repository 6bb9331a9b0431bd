//! How handlers answer: the blocking port run off the async threads, domain errors turned
//! into Spring-shaped bodies (with the request path, filled in by one middleware), the base
//! of HAL links, and query-string parameters parsed by the domain's parsers, field named.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::api::wire::fault;
use crate::api::{Done, Port};
use crate::api::{Error, Result};
use crate::domain::query::parse_limit;
use crate::domain::request::parse_count;
use crate::domain::{Clock, IdemKey, Keyed, Outcome};

/// What every handler holds: one `Arc`, so the clone axum makes for each request is one
/// count, not one per field (two of them `watch` receivers, whose counts every follower
/// and request would share).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The server's state, shared by every request.
pub struct Shared {
    pub port: Arc<dyn Port>,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// The latest event offset, published by the feed thread (`feed::Hub`).
    pub latest: tokio::sync::watch::Receiver<Arc<super::feed::Tip>>,
    /// The event streams following the hub (it renders frames only while one does).
    pub streams: super::feed::Streams,
    /// Feed reads of the log waiting for a blocking thread: followers share a few, so a
    /// thousand of them never take the threads that answer everyone else.
    pub feed_reads: Arc<tokio::sync::Semaphore>,
    /// How long a long poll lingers and an event stream rests (`feed::Pacing`).
    pub feed: super::feed::Pacing,
    /// Prefix of HAL links: the configured public URL, or empty (relative links).
    pub base: Arc<str>,
    /// Set while a `/check` runs: it never runs twice at once.
    pub checking: Arc<std::sync::atomic::AtomicBool>,
}

/// Runs a port call on a blocking thread: the port is synchronous and a write waits for
/// its fsync.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(Error::system(format!("the request's worker failed: {e}"))))
}

/// Applies writes without holding a thread while they are made durable: the embedded core
/// wakes this task when they are (`Port::submit`); a port that can only block runs on a
/// blocking thread.
pub async fn execute(port: Arc<dyn Port>, batch: Vec<Keyed>) -> Result<Vec<Result<Outcome>>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let done: Done = Box::new(move |results| {
        // A request that went away (its client hung up) has nothing to be told.
        let _ = tx.send(results);
    });
    match port.submit(batch, done) {
        Ok(()) => rx
            .await
            .map_err(|_| Error::system("the store stopped before answering the write")),
        Err((batch, _)) => blocking(move || Ok(port.execute(batch))).await,
    }
}

/// A domain error as a response: the status now, the body once the path is known.
pub struct Failure(pub Error);

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure(e)
    }
}

impl From<crate::domain::FieldError> for Failure {
    fn from(e: crate::domain::FieldError) -> Failure {
        Failure(e.into())
    }
}

impl From<crate::domain::FieldErrors> for Failure {
    fn from(e: crate::domain::FieldErrors) -> Failure {
        Failure(e.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(fault::status_of(&self.0))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = status.into_response();
        r.extensions_mut().insert(PendingError(self.0));
        r
    }
}

#[derive(Clone)]
struct PendingError(Error);

/// An answer with a status of its own (408, 415, 421, 503...) in the same error shape,
/// naming the field (a header, the body) and the rule.
pub fn refusal(status: StatusCode, field: &str, rule: &str, path: &str) -> Response {
    let e = Error::invalid(field, rule);
    let (_, mut body) = fault::error_body(&e, path, Clock::System.now());
    body["status"] = status.as_u16().into();
    body["error"] = status.canonical_reason().unwrap_or("Error").into();
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Fills in the error body of a `Failure` with the request's path (Spring's `path`); any
/// other error answer (axum's own rejections: a path that is not UTF-8, a wrong method, a
/// body over the limit) is given the same JSON shape, its text as the rule.
pub async fn error_bodies(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut r = next.run(req).await;
    if let Some(PendingError(e)) = r.extensions_mut().remove::<PendingError>() {
        let (_, body) = fault::error_body(&e, &path, Clock::System.now());
        *r.body_mut() = Body::from(body.to_string());
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return r;
    }
    let status = r.status();
    let is_json = r
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let (parts, body) = r.into_parts();
        let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let rule = match text.trim() {
            "" => status
                .canonical_reason()
                .unwrap_or("was refused")
                .to_lowercase(),
            t => t.chars().take(300).collect(),
        };
        let mut fixed = refusal(status, "request", &rule, &path);
        for (k, v) in parts.headers.iter() {
            if k != CONTENT_TYPE && k != axum::http::header::CONTENT_LENGTH {
                fixed.headers_mut().insert(k.clone(), v.clone());
            }
        }
        return fixed;
    }
    r
}

/// Logs one line per request: method, path, status, time. Never headers (tokens).
pub async fn access_log(req: Request, next: Next) -> Response {
    if !tracing::enabled!(tracing::Level::INFO) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = std::time::Instant::now();
    let r = next.run(req).await;
    tracing::info!(
        %method,
        %path,
        status = r.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    r
}

pub type Answer = std::result::Result<Response, Failure>;

pub fn json(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/hal+json"),
    );
    r
}

pub fn ok(v: &Value) -> Answer {
    Ok(json(StatusCode::OK, v))
}

/// 201 with `Location` from the item's self link, as Spring Data REST answers a POST.
pub fn created(v: &Value) -> Answer {
    let mut r = json(StatusCode::CREATED, v);
    if let Some(href) = v.pointer("/_links/self/href").and_then(Value::as_str)
        && let Ok(h) = HeaderValue::from_str(href)
    {
        r.headers_mut().insert(axum::http::header::LOCATION, h);
    }
    Ok(r)
}

/// The prefix of HAL links: relative (`/members/1`) unless a public URL is configured.
/// Never taken from the request's `Host` (a client must not write our links).
pub struct Base(pub String);

impl FromRequestParts<AppState> for Base {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(_: &mut Parts, st: &AppState) -> Result<Base, Self::Rejection> {
        Ok(Base(st.base.to_string()))
    }
}

/// The write's idempotency key, from the `Idempotency-Key` header.
pub fn idem_key(headers: &HeaderMap) -> Result<Option<IdemKey>> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let t = v.to_str().map_err(|_| {
                Error::invalid("Idempotency-Key", "must be visible ASCII characters")
            })?;
            Ok(Some(IdemKey::parse("Idempotency-Key", t)?))
        }
    }
}

/// Query-string parameters; each parse names the parameter in its error.
pub struct Params(pub HashMap<String, String>);

impl Params {
    /// `ids=1,2,3`: each through the member id parser, at most one page of them.
    pub fn member_ids(&self) -> Result<Vec<crate::domain::MemberId>> {
        let ids: Vec<crate::domain::MemberId> = self
            .text(&["ids"])
            .unwrap_or("")
            .split(',')
            .filter(|t| !t.trim().is_empty())
            .map(|t| crate::domain::MemberId::parse("ids", t))
            .collect::<std::result::Result<_, _>>()?;
        if ids.len() > crate::domain::query::MAX_PAGE {
            return Err(Error::invalid("ids", "must list at most 10000 ids"));
        }
        Ok(ids)
    }

    pub fn text(&self, names: &[&str]) -> Option<&str> {
        names
            .iter()
            .find_map(|n| self.0.get(*n))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// An optional value parsed by the domain's parser for it. A parameter given empty
    /// (`?size=`) goes to the parser too, which refuses it as the CLI refuses `--limit ""`.
    pub fn parse<T, E: Into<Error>>(
        &self,
        names: &[&str],
        parse: impl Fn(&str, &str) -> std::result::Result<T, E>,
    ) -> Result<Option<T>> {
        match names.iter().find_map(|n| self.0.get(*n)) {
            None => Ok(None),
            Some(t) => parse(names[0], t).map(Some).map_err(Into::into),
        }
    }

    /// A whole number in `min ..= max` (the domain's count parser), or `default` when
    /// absent.
    pub fn count(&self, names: &[&str], default: usize, min: usize, max: usize) -> Result<usize> {
        Ok(self
            .parse(names, |f, t| parse_count(f, t, min, max))?
            .unwrap_or(default))
    }

    /// A page size (the domain's `parse_limit`, as the CLI's `--limit`), or `default`.
    pub fn limit(&self, names: &[&str], default: usize) -> Result<usize> {
        Ok(self.parse(names, parse_limit)?.unwrap_or(default))
    }
}
