//! The `abuse` scenario (issue 10, item 3): `onepoint serve` as its own process on
//! 127.0.0.1:0 over a fresh store, attacked at once by `--slowloris` clients (a head that
//! never ends, a header line a second, reconnecting when cut), `--idle` connections that
//! send nothing (reconnecting when cut), `--sse` event followers reading the stream and
//! `--polls` long polls, while one well-behaved client alternates a read (`GET
//! /members/N`) and a durable write (`POST /deals`). Reports that client's p99 under attack
//! as a ratio to its p99 idle (same run), the server's RSS at start, at its peak under
//! attack and after the attackers left, and how long SIGTERM took, against the budgets
//! (p99 <= 50 ms under attack, RSS <= 300 MB, back within 50 MB of the start).
//! Loopback only; every loop is bounded by `--samples` and stops by itself.
//!
//! The attackers that read behave as real followers do: an SSE follower tracks the `id:` of
//! each event and, cut off, resumes after the last one (as an EventSource sends
//! `Last-Event-ID`), and checks that the ids it got run on without a gap or a repeat; a long
//! poller asks after the `latest` of its previous answer. `--poll-linger-ms` and
//! `--sse-tick-ms` set the server's `[server]` pacing (defaults: the server's own), so a
//! run with both at 0 shows the server without it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::Opts;

/// The server's resident memory, in MB (Linux `/proc`).
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds (user + system) a process has used so far (Linux `/proc`): unlike latency,
/// barely moved by what else runs on the machine.
fn cpu_s(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command's closing parenthesis; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    // SAFETY: sysconf only reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    f.iter().sum::<f64>() / hz.max(1.0)
}

/// The machine's 1-minute load average: the figures mean little on a machine already busy.
fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(dir: &std::path::Path, config: &str) -> Result<Server, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let config_path = dir.join("config.toml");
    std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
    let bin = exe.with_file_name("onepoint");
    let mut child = Command::new(&bin)
        .arg("--data")
        .arg(dir.join("store"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-connections",
            "8192",
        ])
        .env("ONEPOINT_CONFIG", &config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {} (build it with --bins): {e}", bin.display()))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .ok_or_else(|| format!("no address in {line:?}"))?
        .parse()
        .map_err(|e| format!("{e}"))?;
    Ok(Server { child, addr })
}

#[derive(Default)]
struct Counters {
    reconnects: AtomicU64,
    sse_bytes: AtomicU64,
    /// Events the SSE followers received (one frame each), the reads that brought them,
    /// and events whose id did not follow the previous one (a gap or a repeat).
    sse_events: AtomicU64,
    sse_reads: AtomicU64,
    sse_out_of_order: AtomicU64,
    polls: AtomicU64,
}

/// An SSE follower's view of its stream: the `id:` lines, split across reads as they come.
struct SseIds {
    last: u64,
    line: Vec<u8>,
}

impl SseIds {
    /// Takes one read; counts the events and those whose id is not `last + 1`.
    fn take(&mut self, bytes: &[u8], c: &Counters) {
        for &b in bytes {
            if b != b'\n' {
                self.line.push(b);
                continue;
            }
            if let Some(id) = self.line.strip_prefix(b"id: ") {
                let id = std::str::from_utf8(id)
                    .ok()
                    .and_then(|t| t.trim().parse::<u64>().ok());
                c.sse_events.fetch_add(1, Ordering::Relaxed);
                match id {
                    Some(id) if id == self.last + 1 => self.last = id,
                    Some(id) => {
                        c.sse_out_of_order.fetch_add(1, Ordering::Relaxed);
                        self.last = self.last.max(id);
                    }
                    None => {
                        c.sse_out_of_order.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            self.line.clear();
        }
    }
}

async fn slowloris(addr: SocketAddr, mut stop: watch::Receiver<bool>, c: Arc<Counters>) {
    while !*stop.borrow() {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if s.write_all(b"GET /members HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .is_err()
        {
            continue;
        }
        let mut buf = [0u8; 512];
        loop {
            tokio::select! {
                r = s.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) { break },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    if s.write_all(b"X-Slow: 1\r\n").await.is_err() { break }
                }
                _ = stop.changed() => return,
            }
        }
        c.reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

async fn idle(addr: SocketAddr, mut stop: watch::Receiver<bool>, c: Arc<Counters>) {
    while !*stop.borrow() {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut buf = [0u8; 512];
        tokio::select! {
            _ = s.read(&mut buf) => {}
            _ = stop.changed() => return,
        }
        c.reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

/// An SSE follower: reads the stream (the chunked framing passes through the id parser as
/// lines of its own, which start with no `id: `), and reconnects after the last id it saw.
async fn follower(addr: SocketAddr, after: u64, mut stop: watch::Receiver<bool>, c: Arc<Counters>) {
    let mut ids = SseIds {
        last: after,
        line: Vec::new(),
    };
    let mut buf = vec![0u8; 16 * 1024];
    while !*stop.borrow() {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        ids.line.clear();
        let req = format!(
            "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: {}\r\n\r\n",
            ids.last
        );
        if s.write_all(req.as_bytes()).await.is_err() {
            continue;
        }
        loop {
            tokio::select! {
                r = s.read(&mut buf) => match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        c.sse_bytes.fetch_add(n as u64, Ordering::Relaxed);
                        c.sse_reads.fetch_add(1, Ordering::Relaxed);
                        ids.take(&buf[..n], &c);
                    }
                },
                _ = stop.changed() => return,
            }
        }
        c.reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

async fn long_poll(
    client: reqwest::Client,
    base: String,
    mut after: u64,
    mut stop: watch::Receiver<bool>,
    c: Arc<Counters>,
) {
    while !*stop.borrow() {
        let url = format!("{base}/events/wait?after={after}&timeoutMs=30000");
        tokio::select! {
            r = client.get(&url).send() => {
                let latest = match r {
                    Ok(resp) => resp.json::<serde_json::Value>().await.ok()
                        .and_then(|v| v["latest"].as_u64()),
                    Err(_) => None,
                };
                match latest {
                    Some(n) => { after = n.max(after); c.polls.fetch_add(1, Ordering::Relaxed); }
                    None => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
            _ = stop.changed() => return,
        }
    }
}

struct Latencies {
    reads: Vec<f64>,
    writes: Vec<f64>,
}

fn p(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * q) as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// The well-behaved client: `samples` reads and as many writes, alternating, 5 ms apart.
async fn behave(
    client: &reqwest::Client,
    base: &str,
    samples: u64,
    members: u64,
) -> Result<Latencies, String> {
    let mut out = Latencies {
        reads: Vec::new(),
        writes: Vec::new(),
    };
    for i in 0..samples {
        let m = 1 + i % members;
        let t = Instant::now();
        let r = client
            .get(format!("{base}/members/{m}"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let ok = r.status().as_u16() == 200;
        r.bytes().await.map_err(|e| e.to_string())?;
        out.reads.push(t.elapsed().as_secs_f64() * 1000.0);
        if !ok {
            return Err(format!("GET /members/{m} was not 200"));
        }
        let body = format!(
            r#"{{"type":"save","memberId":{m},"merchantId":{},"dealAmount":{}}}"#,
            1 + i % 50,
            10_000 + i
        );
        let t = Instant::now();
        let r = client
            .post(format!("{base}/deals"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        r.bytes().await.map_err(|e| e.to_string())?;
        out.writes.push(t.elapsed().as_secs_f64() * 1000.0);
        if status != 201 {
            return Err(format!("POST /deals answered {status}"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(out)
}

pub fn run(opts: &Opts) -> Result<(), String> {
    let n_slow = opts.num("slowloris", 500)?;
    let n_idle = opts.num("idle", 1000)?;
    let n_sse = opts.num("sse", 1000)?;
    let n_polls = opts.num("polls", 700)?;
    let samples = opts.num("samples", 500)?;
    let members = 100;
    let defaults = onepoint::server::Pacing::default();
    let linger_ms = opts.num("poll-linger-ms", defaults.poll_linger.as_millis() as u64)?;
    let tick_ms = opts.num("sse-tick-ms", defaults.sse_tick.as_millis() as u64)?;
    onepoint::server::raise_open_files_limit();
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = format!("[server]\npoll_linger_ms = {linger_ms}\nsse_tick_ms = {tick_ms}\n");
    let mut server = start_server(tmp.path(), &config)?;
    let pid = server.child.id();
    let base = format!("http://{}", server.addr);
    let addr = server.addr;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        for i in 0..members {
            let r = client
                .post(format!("{base}/members"))
                .header("content-type", "application/json")
                .body(format!(r#"{{"name":"Abuse Member {i}"}}"#))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if r.status().as_u16() != 201 {
                return Err(format!("join answered {}", r.status()));
            }
        }
        // Warm up, then the idle figures.
        behave(&client, &base, 50, members).await?;
        let rss_start = rss_mb(pid);
        let load_start = loadavg();
        let mut idle_lat = behave(&client, &base, samples, members).await?;

        let (stop_tx, stop) = watch::channel(false);
        let c = Arc::new(Counters::default());
        let latest: u64 = client
            .get(format!("{base}/events/wait?after=0&timeoutMs=0"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json::<serde_json::Value>()
            .await
            .map_err(|e| e.to_string())?["latest"]
            .as_u64()
            .unwrap_or(0);
        let poll_client = reqwest::Client::builder()
            .timeout(Duration::from_secs(40))
            .pool_max_idle_per_host(n_polls as usize)
            .build()
            .map_err(|e| e.to_string())?;
        let mut tasks = Vec::new();
        let opened = Instant::now();
        for i in 0..(n_slow + n_idle + n_sse + n_polls) {
            let (stop, c) = (stop.clone(), c.clone());
            tasks.push(if i < n_slow {
                tokio::spawn(slowloris(addr, stop, c))
            } else if i < n_slow + n_idle {
                tokio::spawn(idle(addr, stop, c))
            } else if i < n_slow + n_idle + n_sse {
                tokio::spawn(follower(addr, latest, stop, c))
            } else {
                tokio::spawn(long_poll(
                    poll_client.clone(),
                    base.clone(),
                    latest,
                    stop,
                    c,
                ))
            });
            if i % 100 == 99 {
                // The listen backlog is finite: open in waves, as attackers ramp up.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let ramp_s = opened.elapsed().as_secs_f64();
        let peak = Arc::new(AtomicU64::new(0));
        let sampler = {
            let peak = peak.clone();
            let mut stop = stop.clone();
            tokio::spawn(async move {
                loop {
                    let now = (rss_mb(pid) * 1024.0) as u64;
                    peak.fetch_max(now, Ordering::Relaxed);
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                        _ = stop.changed() => return,
                    }
                }
            })
        };
        let t_attack = Instant::now();
        let (server_cpu0, bench_cpu0) = (cpu_s(&pid.to_string()), cpu_s("self"));
        let mut attack_lat = behave(&client, &base, samples, members).await?;
        let attack_s = t_attack.elapsed().as_secs_f64();
        let server_cpu = cpu_s(&pid.to_string()) - server_cpu0;
        let bench_cpu = cpu_s("self") - bench_cpu0;
        let sse_bytes = c.sse_bytes.load(Ordering::Relaxed);
        let sse_events = c.sse_events.load(Ordering::Relaxed);
        let sse_reads = c.sse_reads.load(Ordering::Relaxed);
        let polls = c.polls.load(Ordering::Relaxed);
        let reconnects = c.reconnects.load(Ordering::Relaxed);
        let load_attack = loadavg();
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
        let _ = sampler.await;
        drop(poll_client);
        // Give the server its timeouts to notice everyone left, and idle blocking threads
        // their 10 s keep-alive, then measure.
        tokio::time::sleep(Duration::from_secs(12)).await;
        let rss_after = rss_mb(pid);
        let rss_peak = peak.load(Ordering::Relaxed) as f64 / 1024.0;
        let (ir, iw) = (p(&mut idle_lat.reads, 0.99), p(&mut idle_lat.writes, 0.99));
        let (ar, aw) = (
            p(&mut attack_lat.reads, 0.99),
            p(&mut attack_lat.writes, 0.99),
        );
        Ok::<_, String>(serde_json::json!({
            "scenario": "abuse",
            "slowloris": n_slow, "idle": n_idle, "sse": n_sse, "polls": n_polls,
            "samples": samples,
            "ramp_s": ramp_s,
            "attack_s": attack_s,
            "idle_read_p50_ms": p(&mut idle_lat.reads, 0.5),
            "idle_read_p99_ms": ir,
            "idle_write_p50_ms": p(&mut idle_lat.writes, 0.5),
            "idle_write_p99_ms": iw,
            "attack_read_p50_ms": p(&mut attack_lat.reads, 0.5),
            "attack_read_p99_ms": ar,
            "attack_write_p50_ms": p(&mut attack_lat.writes, 0.5),
            "attack_write_p99_ms": aw,
            "read_p99_ratio": ar / ir,
            "write_p99_ratio": aw / iw,
            "budget_p99_ms": 50,
            "poll_linger_ms": linger_ms,
            "sse_tick_ms": tick_ms,
            "sse_bytes_during_attack": sse_bytes,
            "sse_frames_received": sse_events,
            "sse_reads": sse_reads,
            "sse_out_of_order": c.sse_out_of_order.load(Ordering::Relaxed),
            "long_polls_answered": polls,
            "long_polls_per_s": polls as f64 / attack_s,
            "server_cpu_cores_under_attack": server_cpu / attack_s,
            "bench_cpu_cores_under_attack": bench_cpu / attack_s,
            "attacker_reconnects": reconnects,
            "rss_start_mb": rss_start,
            "rss_peak_mb": rss_peak,
            "rss_after_mb": rss_after,
            "budget_rss_mb": 300,
            "budget_rss_return_mb": 50,
            "loadavg_1m_start": load_start,
            "loadavg_1m_attack_end": load_attack,
            "loadavg_1m_end": loadavg(),
        }))
    })?;
    // SIGTERM with nobody attacking: how long the drain takes.
    let t = Instant::now();
    // SAFETY: a signal to our own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let code = loop {
        if let Some(st) = server.child.try_wait().map_err(|e| e.to_string())? {
            break st.code();
        }
        if t.elapsed() > Duration::from_secs(30) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut report = report;
    report["sigterm_ms"] = (t.elapsed().as_secs_f64() * 1000.0).into();
    report["exit_code"] = code.into();
    println!("{report}");
    Ok(())
}
