//! Shared by the remote-mode tests: an embedded store with a fixed clock, an in-process
//! `onepoint serve` over it on 127.0.0.1:0, a remote adapter with short timeouts, and a
//! small blocking HTTP helper for raw requests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use onepoint::api::Port;
use onepoint::api::embedded::Embedded;
use onepoint::api::remote::{BreakerSettings, RemoteAdapter, RemoteOptions};
use onepoint::domain::core::CoreOptions;
use onepoint::domain::{Clock, Rates};
use onepoint::server::{self, RunningServer, ServerConfig, Tokens};

/// 2026-10-15T09:00:00Z: deals in October, settlement of 202610 allowed.
pub const NOW_MS: i64 = 1_792_054_800_000;

pub fn embedded(dir: &std::path::Path) -> Arc<Embedded> {
    let opts = CoreOptions {
        rates: Rates::default(),
        zone: chrono::FixedOffset::east_opt(0).unwrap(),
        clock: Clock::fixed(NOW_MS),
    };
    Arc::new(Embedded::open_with(dir, opts).expect("open the store"))
}

pub struct Served {
    pub server: RunningServer,
    pub dir: tempfile::TempDir,
}

impl Served {
    pub fn url(&self) -> String {
        self.server.url()
    }
}

/// `onepoint serve` over a fresh embedded store, on a free loopback port.
pub fn serve(tokens: Option<Tokens>) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let port: Arc<dyn Port> = embedded(dir.path());
    let server = server::start(
        port,
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            tokens,
            ..ServerConfig::default()
        },
    )
    .expect("start the server");
    Served { server, dir }
}

pub fn fast_options(outbox: &std::path::Path) -> RemoteOptions {
    RemoteOptions {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        breaker: BreakerSettings {
            threshold: 2,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(500),
        },
        outbox: Some(outbox.to_path_buf()),
        drain_every: Duration::from_millis(100),
    }
}

pub fn remote(url: &str, token: Option<&str>, outbox_dir: &std::path::Path) -> RemoteAdapter {
    RemoteAdapter::connect_with(
        url,
        token.map(str::to_string),
        fast_options(&outbox_dir.join("outbox.jsonl")),
    )
    .expect("connect")
}

/// A raw answer: status, headers, body text.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
}

/// One request, blocking, with optional body and headers.
pub fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
    try_call(method, url, headers, body).expect("the server answers")
}

/// One request; `None` when the connection failed or was closed before an answer.
pub fn try_call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Option<Reply> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut req = client
            .request(method.parse().unwrap(), url)
            .timeout(Duration::from_secs(20));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.ok()?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        Some(Reply {
            status,
            headers,
            text,
        })
    })
}
