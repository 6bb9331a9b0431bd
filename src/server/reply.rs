//! How handlers answer: the blocking port run off the async threads, domain errors turned
//! into Spring-shaped bodies (with the request path, filled in by one middleware), the base
//! URL for HAL links, and query-string parameters parsed with the field named.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::api::Port;
use crate::api::wire::fault;
use crate::api::{Error, Result};
use crate::domain::{Clock, IdemKey};

/// What every handler holds.
#[derive(Clone)]
pub struct AppState {
    pub port: Arc<dyn Port>,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
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

/// Fills in the error body of a `Failure` with the request's path (Spring's `path`).
pub async fn error_bodies(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut r = next.run(req).await;
    if let Some(PendingError(e)) = r.extensions_mut().remove::<PendingError>() {
        let (_, body) = fault::error_body(&e, &path, Clock::System.now());
        *r.body_mut() = Body::from(body.to_string());
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    r
}

/// Logs one line per request: method, path, status, time. Never headers (tokens).
pub async fn access_log(req: Request, next: Next) -> Response {
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

/// `http://host` for the links of HAL bodies, from the request's `Host`.
pub struct Base(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Base {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Base, Self::Rejection> {
        let host = parts
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| h.chars().all(|c| c.is_ascii_graphic()))
            .unwrap_or("localhost");
        Ok(Base(format!("http://{host}")))
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
    pub fn text(&self, names: &[&str]) -> Option<&str> {
        names
            .iter()
            .find_map(|n| self.0.get(*n))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// An optional value parsed by the domain's parser for it.
    pub fn parse<T, E: Into<Error>>(
        &self,
        names: &[&str],
        parse: impl Fn(&str, &str) -> std::result::Result<T, E>,
    ) -> Result<Option<T>> {
        match self.text(names) {
            None => Ok(None),
            Some(t) => parse(names[0], t).map(Some).map_err(Into::into),
        }
    }

    /// A whole number in `min ..= max`, or `default` when absent.
    pub fn count(&self, names: &[&str], default: usize, min: usize, max: usize) -> Result<usize> {
        match self.text(names) {
            None => Ok(default),
            Some(t) => t
                .parse::<usize>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    Error::invalid(
                        names[0],
                        &format!("must be a whole number from {min} to {max}"),
                    )
                }),
        }
    }
}
