//! `onepoint serve` (SPEC 6): the core over HTTP, compatible with the original services'
//! paths and fields, on axum. The port is blocking, so handlers run it on blocking threads;
//! a write is answered only when `execute` returns (after the store's fsync).
//! Submodules: `members` and `routes` (resources), `feed` (events, info, check, health), `batch`,
//! `auth` (bearer tokens), `reply` (errors, links, parameters).

pub mod auth;
mod batch;
mod feed;
mod members;
mod reply;
mod routes;
mod windows;

use std::net::SocketAddr;
use std::sync::Arc;
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
/// How long shutdown waits for in-flight requests' blocking work.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The whole API over one port.
pub fn router(
    port: Arc<dyn Port>,
    tokens: Option<Tokens>,
    shutdown: watch::Receiver<bool>,
) -> Router {
    let state = AppState { port, shutdown };
    let tokens = tokens.map(Arc::new);
    Router::new()
        .route("/members", get(members::members).post(members::join))
        .route("/members/batch", get(windows::members_by_ids))
        .route("/windows/members", get(windows::member_window))
        .route("/windows/deals", get(windows::deal_window))
        .route("/billings/previews", get(windows::previews))
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
        .layer(axum::middleware::from_fn_with_state(tokens, auth::require))
        .layer(axum::middleware::from_fn(reply::error_bodies))
        .layer(axum::middleware::from_fn(reply::access_log))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// `None`: no auth, and the address must be loopback.
    pub tokens: Option<Tokens>,
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
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::bind(cfg.listen).await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(bind_error(cfg.listen, e)));
                        return;
                    }
                };
                let addr = listener.local_addr().unwrap_or(cfg.listen);
                let _ = ready_tx.send(Ok(addr));
                let mut wait = stop_rx.clone();
                let app = router(port, cfg.tokens, stop_rx);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = wait.wait_for(|s| *s).await;
                    })
                    .await;
            });
            rt.shutdown_timeout(DRAIN_TIMEOUT);
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
/// stops, and lets the store flush as the port is dropped. `cfg` comes from the composition
/// root (`cli`), which parsed `--listen` and loaded the tokens.
pub fn serve(port: Arc<dyn Port>, cfg: ServerConfig) -> Result<i32> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ONEPOINT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    check_loopback(&cfg)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let (stop_tx, stop_rx) = watch::channel(false);
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| bind_error(cfg.listen, e))?;
        let addr = listener.local_addr().unwrap_or(cfg.listen);
        // One line on stdout that scripts (and the tests) can read the address from.
        println!("listening on http://{addr}");
        let app = router(port, cfg.tokens, stop_rx);
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                eprintln!("onepoint serve: stopping: answering in-flight requests");
                let _ = stop_tx.send(true);
            })
            .await
            .map_err(|e| Error::system(format!("the server failed: {e}")))
    })?;
    rt.shutdown_timeout(DRAIN_TIMEOUT);
    eprintln!("onepoint serve: stopped; the store is flushed");
    Ok(0)
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
