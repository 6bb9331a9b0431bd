//! The HTTP side of the remote adapter, shared with its background outbox task: one
//! keep-alive client with a timeout on every call, the circuit breaker, the cache of the
//! last answer per read (served, marked stale, while the server cannot be reached) and the
//! durable outbox.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use reqwest::Method;
use reqwest::header::ACCEPT;
use serde_json::Value;

use super::breaker::Breaker;
use super::outbox::Outbox;
use crate::api::Link;
use crate::api::wire::fault::error_from_response;
use crate::api::{Error, Result};
use crate::domain::IdemKey;

/// Which API the remote speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// `onepoint serve`: every extension, our bodies, `/batch`, `/events`.
    Onepoint,
    /// The original Spring services (or their gateway): HAL without ids, no extensions.
    Original,
}

/// Reads whose last answers are kept for stale serving.
const CACHE_ENTRIES: usize = 1024;

/// What became of a request.
pub enum Sent {
    /// The server answered (any status).
    Answer { status: u16, body: Vec<u8> },
    /// The circuit is open: nothing went out.
    Refrained(String),
    /// It went out (or tried to) and no answer came: a write may or may not have applied.
    Lost(String),
}

pub struct Shared {
    pub base: String,
    token: Option<String>,
    http: reqwest::Client,
    pub timeout: Duration,
    breaker: Mutex<Breaker>,
    cache: Mutex<HashMap<String, Value>>,
    pub outbox: Mutex<Outbox>,
    /// Serialises outbox drains (the background task and the one at connect).
    pub drain_lock: tokio::sync::Mutex<()>,
    /// What became of queued writes once sent (for the console's status line), until read.
    pub sent_reports: Mutex<Vec<crate::api::port::OutboxReport>>,
    stale: AtomicBool,
    flavour: Mutex<Flavour>,
}

fn is_outage(status: u16) -> bool {
    matches!(status, 502..=504)
}

/// Percent-encodes a query-string value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Shared {
    pub fn new(
        base: String,
        token: Option<String>,
        timeout: Duration,
        connect_timeout: Duration,
        breaker: Breaker,
        outbox: Outbox,
    ) -> Result<Shared> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            // Below the server's idle keep-alive timeout (5 s by default), so a pooled
            // connection is dropped here before the server closes it under a request.
            .pool_idle_timeout(Duration::from_secs(3))
            .user_agent(concat!("onepoint/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Unavailable {
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Shared {
            base,
            token,
            http,
            timeout,
            breaker: Mutex::new(breaker),
            cache: Mutex::new(HashMap::new()),
            outbox: Mutex::new(outbox),
            drain_lock: tokio::sync::Mutex::new(()),
            sent_reports: Mutex::new(Vec::new()),
            stale: AtomicBool::new(false),
            flavour: Mutex::new(Flavour::Onepoint),
        })
    }

    pub fn flavour(&self) -> Flavour {
        *self.flavour.lock()
    }

    pub fn set_flavour(&self, f: Flavour) {
        *self.flavour.lock() = f;
    }

    pub fn link(&self) -> Link {
        self.breaker.lock().link(Instant::now())
    }

    pub fn stale(&self) -> bool {
        self.stale.load(Ordering::Relaxed)
    }

    pub fn is_open(&self) -> bool {
        self.breaker.lock().is_open(Instant::now())
    }

    fn open_message(&self) -> String {
        format!(
            "the server at {} is unreachable ({})",
            self.base,
            self.link().label()
        )
    }

    /// One request, with the breaker's say and its bookkeeping.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&IdemKey>,
        timeout: Duration,
    ) -> Sent {
        if !self.breaker.lock().allow(Instant::now()) {
            return Sent::Refrained(self.open_message());
        }
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .timeout(timeout)
            .header(ACCEPT, "application/hal+json, application/json");
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", &k.0);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let answer = match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                resp.bytes()
                    .await
                    .map(|b| (status, b.to_vec()))
                    .map_err(|e| (describe(&self.base, &e, timeout), false))
            }
            Err(e) => Err((describe(&self.base, &e, timeout), e.is_connect())),
        };
        match answer {
            Ok((status, body)) if !is_outage(status) => {
                self.breaker.lock().success();
                Sent::Answer { status, body }
            }
            Ok((status, body)) => {
                self.breaker.lock().failure(Instant::now());
                let e = error_from_response(status, &body, "answer");
                Sent::Lost(format!("{} answered {status}: {e}", self.base))
            }
            Err((why, false)) => {
                self.breaker.lock().failure(Instant::now());
                Sent::Lost(why)
            }
            // The connection was refused: nothing went out, so a write was not applied.
            Err((why, true)) => {
                self.breaker.lock().failure(Instant::now());
                Sent::Refrained(why)
            }
        }
    }

    /// A read: the fresh answer when the server gives one, else the last answer for the
    /// same path, marked stale; `what` names the thing in a 404.
    pub async fn get(&self, path: &str, what: &str) -> Result<Value> {
        self.get_within(path, what, self.timeout, true).await
    }

    /// A read with its own time limit; `stale_ok: false` for answers that must be fresh
    /// (a long poll served from the cache would turn a follower's wait into a spin).
    pub async fn get_within(
        &self,
        path: &str,
        what: &str,
        timeout: Duration,
        stale_ok: bool,
    ) -> Result<Value> {
        match self.send(Method::GET, path, None, None, timeout).await {
            Sent::Answer { status, body } if (200..300).contains(&status) => {
                let v: Value = serde_json::from_slice(&body).map_err(|e| Error::Unavailable {
                    message: format!("{} sent unreadable JSON for {path}: {e}", self.base),
                })?;
                let mut cache = self.cache.lock();
                if cache.len() >= CACHE_ENTRIES {
                    cache.clear();
                }
                cache.insert(path.to_string(), v.clone());
                self.stale.store(false, Ordering::Relaxed);
                Ok(v)
            }
            Sent::Answer { status, body } => Err(error_from_response(status, &body, what)),
            Sent::Refrained(why) | Sent::Lost(why) => {
                let cached = if stale_ok {
                    self.cache.lock().get(path).cloned()
                } else {
                    None
                };
                match cached {
                    Some(v) => {
                        self.stale.store(true, Ordering::Relaxed);
                        Ok(v)
                    }
                    None if !stale_ok => Err(Error::Unavailable { message: why }),
                    None => Err(Error::Unavailable {
                        message: format!("{why}; nothing seen earlier to show"),
                    }),
                }
            }
        }
    }

    /// The cached answer for a path, if any (to decide what a cancel cancels offline).
    pub fn cached(&self, path: &str) -> Option<Value> {
        self.cache.lock().get(path).cloned()
    }
}

fn describe(base: &str, e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("{base} did not answer within {}s", timeout.as_secs_f32())
    } else if e.is_connect() {
        format!("cannot connect to {base}")
    } else {
        format!("{base}: {e}")
    }
}
