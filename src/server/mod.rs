//! `onepoint serve` (SPEC 6): the core over HTTP, compatible with the original services'
//! paths and fields, on axum over hyper's HTTP/1 connections with our own accept loop, so
//! that every connection has limits: a head must arrive whole within `header_timeout`
//! (counted from the connection's start or the end of the previous answer, so it is the
//! idle keep-alive timeout too), a body within `body_timeout`, a stalled reader is cut after
//! `write_stall`; over `max_connections` a client is answered 503 instead of failing
//! `accept`. The port is blocking, so handlers run it on blocking threads; a write is
//! answered only when `execute` returns (after the store's fsync). On SIGTERM in-flight
//! requests are answered and every connection is closed within `shutdown_grace`.
//! Submodules: `members` and `routes` (resources), `feed` (events, info, check, health),
//! `batch`, `auth` (bearer tokens), `guard` (CSRF, Host), `conn` (the accept loop),
//! `reply` (errors, links, parameters), `memory` (giving freed memory back when idle).

pub mod auth;
mod batch;
mod conn;
pub use conn::raise_open_files_limit;
pub mod feed;
pub use feed::Pacing;
pub mod guard;
mod members;
mod memory;
mod reply;
mod reports;
mod routes;
mod windows;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::watch;

pub use auth::{Role, Tokens};
use reply::AppState;

use crate::api::Port;
use crate::api::{Error, Result};

/// Request bodies above this are refused (a 10 MB name never reaches a parser).
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Blocking slots the event followers share for their reads of the log.
const FEED_READ_SLOTS: usize = 4;

/// The limits each connection lives under. Defaults are nginx-like, a few seconds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request head must arrive whole within this, counted from the connection's start
    /// or the end of the previous answer (so it is also the idle keep-alive timeout).
    pub header_timeout: Duration,
    /// A request body must arrive whole within this (408 otherwise).
    pub body_timeout: Duration,
    /// A client that reads nothing of its answer for this long is disconnected (an event
    /// follower resumes from its last id).
    pub write_stall: Duration,
    /// Open connections above this are answered 503 and closed.
    pub max_connections: usize,
    /// On shutdown, how long in-flight requests have before every connection is closed.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            write_stall: Duration::from_secs(30),
            max_connections: 8192,
            shutdown_grace: Duration::from_millis(1500),
        }
    }
}

/// Where and how to listen: the plain options the composition root builds.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// `None`: no auth, and the address must be loopback.
    pub tokens: Option<Tokens>,
    /// The URL clients reach us at, for HAL links; `None`: links are relative.
    pub public_url: Option<String>,
    pub limits: Limits,
    /// How the event feed paces its followers (`[server]` in the config).
    pub feed: Pacing,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8088)),
            tokens: None,
            public_url: None,
            limits: Limits::default(),
            feed: Pacing::default(),
        }
    }
}

impl ServerConfig {
    /// No auth on a loopback address (port 0: any free port).
    pub fn loopback(listen: SocketAddr) -> ServerConfig {
        ServerConfig {
            listen,
            ..ServerConfig::default()
        }
    }
}

/// The whole API over one port; `latest` is the feed hub's offset, `streams` counts the event
/// streams that want its frames.
pub fn router(
    port: Arc<dyn Port>,
    cfg: &ServerConfig,
    (latest, streams): (watch::Receiver<Arc<feed::Tip>>, feed::Streams),
    shutdown: watch::Receiver<bool>,
) -> Router {
    let base = cfg
        .public_url
        .as_deref()
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_default();
    let state = AppState::new(reply::Shared {
        port,
        shutdown,
        latest,
        streams,
        feed_reads: Arc::new(tokio::sync::Semaphore::new(FEED_READ_SLOTS)),
        feed: cfg.feed,
        base: base.into(),
        checking: Arc::new(AtomicBool::new(false)),
    });
    let guard = Arc::new(guard::Guard {
        open: cfg.tokens.is_none(),
        public_origin: cfg.public_url.as_deref().and_then(guard::origin_of),
    });
    let tokens = cfg.tokens.clone().map(Arc::new);
    let body_timeout = cfg.limits.body_timeout;
    Router::new()
        .route("/members", get(members::members).post(members::join))
        .route("/members/batch", get(windows::members_by_ids))
        .route("/windows/members", get(windows::member_window))
        .route("/windows/deals", get(windows::deal_window))
        .route("/billings/previews", get(windows::previews))
        .route("/reports/{kind}", get(reports::report))
        .route("/members/totals", get(reports::member_totals))
        .route(
            "/members/{id}",
            get(members::member).delete(members::withdraw),
        )
        .route("/members/{id}/detail", get(members::member_detail))
        .route("/members/{id}/history", get(members::member_history))
        .route("/points", get(members::balances))
        .route("/points/summary", get(members::points_summary))
        .route("/points/{id}", get(members::points))
        .route("/deals", get(routes::deals).post(routes::place_deal))
        .route("/deals/{id}", get(routes::deal))
        .route("/billings", get(routes::billings).post(routes::run_billing))
        .route("/billings/preview", get(routes::preview_billing))
        .route(
            "/billingAmountViews/search/findByMemberId",
            get(members::find_by_member),
        )
        .route("/billingAmountViews/{id}", get(members::dashboard_row))
        .route(
            "/merchants",
            get(routes::merchants).post(routes::add_merchant),
        )
        .route("/batch", post(batch::batch))
        .route("/events", get(feed::events))
        .route("/events/wait", get(feed::wait))
        .route("/info", get(feed::info))
        .route("/check", get(feed::check))
        .route("/health", get(feed::health))
        .fallback(routes::no_such_path)
        .with_state(state)
        .layer(axum::middleware::from_fn(move |req, next| {
            conn::read_body_within(body_timeout, req, next)
        }))
        .layer(axum::middleware::from_fn_with_state(tokens, auth::require))
        .layer(axum::middleware::from_fn_with_state(guard, guard::check))
        .layer(axum::middleware::from_fn(reply::error_bodies))
        .layer(axum::middleware::from_fn(reply::access_log))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// A server running on its own thread and runtime (tests, the bench).
pub struct RunningServer {
    pub addr: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful stop: in-flight requests are answered, then the port is dropped.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.halt();
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("onepoint-serve")
        // A worker going idle hands back what its clients freed (see `memory`).
        .on_thread_park(memory::collect_this_thread)
        .build()
        .map_err(|e| Error::system(format!("cannot start the server runtime: {e}")))
}

fn check_loopback(cfg: &ServerConfig) -> Result<()> {
    if cfg.tokens.is_none() && !cfg.listen.ip().is_loopback() {
        return Err(Error::invalid(
            "--listen",
            "must be a loopback address without --token-file",
        ));
    }
    Ok(())
}

/// Binds, then serves until `stop` turns true; `ready` hears the address (or the error).
async fn run(
    port: Arc<dyn Port>,
    cfg: ServerConfig,
    stop: watch::Receiver<bool>,
    ready: impl FnOnce(Result<SocketAddr>),
) -> Result<()> {
    conn::raise_open_files_limit();
    let listener = match tokio::net::TcpListener::bind(cfg.listen).await {
        Ok(l) => l,
        Err(e) => {
            let e = bind_error(cfg.listen, e);
            ready(Err(e.clone()));
            return Err(e);
        }
    };
    let (hub, latest, streams) = match feed::Hub::start(port.clone()) {
        Ok(h) => h,
        Err(e) => {
            ready(Err(e.clone()));
            return Err(e);
        }
    };
    ready(Ok(listener.local_addr().unwrap_or(cfg.listen)));
    let app = router(port, &cfg, (latest, streams), stop.clone());
    tokio::spawn(memory::purge_ticks(stop.clone()));
    conn::accept_loop(listener, app, cfg.limits, stop).await;
    drop(hub);
    Ok(())
}

/// Starts a server on a thread; returns once it listens (port 0 gets a free port).
pub fn start(port: Arc<dyn Port>, cfg: ServerConfig) -> Result<RunningServer> {
    check_loopback(&cfg)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<SocketAddr>>();
    let thread = std::thread::Builder::new()
        .name("onepoint-server".into())
        .spawn(move || {
            let rt = match runtime() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let grace = cfg.limits.shutdown_grace;
            let _ = rt.block_on(run(port, cfg, stop_rx, move |r| {
                let _ = ready_tx.send(r);
            }));
            rt.shutdown_timeout(grace);
        })
        .map_err(|e| Error::system(format!("cannot start the server thread: {e}")))?;
    let addr = ready_rx
        .recv()
        .map_err(|_| Error::system("the server thread ended before listening"))??;
    Ok(RunningServer {
        addr,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

fn bind_error(addr: SocketAddr, e: std::io::Error) -> Error {
    Error::Unavailable {
        message: format!("cannot listen on {addr}: {e}"),
    }
}

/// `onepoint serve`: listens until SIGTERM or Ctrl-C, then answers in-flight requests,
/// closes every connection within the grace period, and lets the store flush as the port
/// is dropped.
pub fn serve(port: Arc<dyn Port>, mut cfg: ServerConfig) -> Result<i32> {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ONEPOINT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    match &cfg.tokens {
        None => {
            if !cfg.listen.ip().is_loopback() {
                cfg.listen.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
            }
            eprintln!(
                "onepoint serve: no --token-file, so no authentication: listening on loopback only"
            );
        }
        Some(t) => eprintln!(
            "onepoint serve: {} operator and {} viewer token(s) loaded",
            t.count(Role::Operator),
            t.count(Role::Viewer)
        ),
    }
    let grace = cfg.limits.shutdown_grace;
    let rt = runtime()?;
    rt.block_on(async move {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            eprintln!("onepoint serve: stopping: answering in-flight requests");
            let _ = stop_tx.send(true);
        });
        run(port, cfg, stop_rx, |r| {
            // One line on stdout that scripts (and the tests) can read the address from.
            if let Ok(addr) = r {
                println!("listening on http://{addr}");
            }
        })
        .await
    })?;
    rt.shutdown_timeout(grace);
    eprintln!("onepoint serve: stopped; the store is flushed");
    Ok(0)
}

/// `--listen` as typed.
pub fn parse_listen(text: &str) -> Result<SocketAddr> {
    text.parse()
        .map_err(|_| Error::invalid("--listen", "must be an address like 127.0.0.1:8088"))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
