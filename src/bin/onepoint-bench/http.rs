//! The `http` scenario (SPEC 8): `onepoint serve` in-process on 127.0.0.1:0 over a fresh
//! store, driven by a built-in load generator with 64 keep-alive connections placing a
//! 70% save / 25% use / 5% cancel mix through `POST /deals`. Every answer is durable (the
//! server answers after the group commit's fsync). Reports deals/s and p50/p99 latency
//! against SPEC section 8's budget (>= 12,000 deals/s, p99 <= 50 ms). Client and server
//! share the cores.

use std::sync::Arc;
use std::time::Instant;

use onepoint::api::Port;
use onepoint::api::embedded::Embedded;
use onepoint::domain::core::CoreOptions;
use onepoint::server::{self, ServerConfig};
use rand::{Rng, SeedableRng};

use crate::Opts;

pub fn run(opts: &Opts) -> Result<(), String> {
    let members = opts.num("members", 10_000)?;
    let deals = opts.num("deals", 100_000)?;
    let connections = opts.num("connections", 64)? as usize;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = match opts.text("data") {
        Some(d) => std::path::PathBuf::from(d),
        None => tmp.path().join("store"),
    };
    let port =
        Arc::new(Embedded::open_with(&dir, CoreOptions::default()).map_err(|e| e.to_string())?);
    let have = port.info().map_err(|e| e.to_string())?.members;
    crate::join_members(
        have,
        members,
        |i| format!("Http Member {i}"),
        |b| port.execute(b),
    )?;
    let store: Arc<dyn Port> = port.clone();
    let running = server::start(
        store,
        ServerConfig {
            listen: "127.0.0.1:0".parse().expect("an address"),
            tokens: None,
            ..ServerConfig::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let url = format!("{}/deals", running.url());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let per = deals / connections as u64;
    let started = Instant::now();
    let results = rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let tasks: Vec<_> = (0..connections)
            .map(|t| {
                let client = client.clone();
                let url = url.clone();
                tokio::spawn(async move { drive(client, url, t as u64, per, members).await })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.map_err(|e| e.to_string())??);
        }
        Ok::<_, String>(all)
    })?;
    let secs = started.elapsed().as_secs_f64();
    let mut lat: Vec<f64> = results
        .iter()
        .flat_map(|r| r.latencies_ms.iter().copied())
        .collect();
    let refused: u64 = results.iter().map(|r| r.refused).sum();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    let info = port.info().map_err(|e| e.to_string())?;
    running.stop();
    let line = serde_json::json!({
        "scenario": "http",
        "members": members,
        "deals": lat.len(),
        "connections": connections,
        "refused": refused,
        "seconds": secs,
        "deals_per_s": lat.len() as f64 / secs,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "budget_deals_per_s": 12_000,
        "budget_p99_ms": 50,
        "store_bytes": info.store_bytes,
    });
    println!("{line}");
    Ok(())
}

struct Driven {
    latencies_ms: Vec<f64>,
    refused: u64,
}

/// One keep-alive connection's share: sequential requests, each timed.
async fn drive(
    client: reqwest::Client,
    url: String,
    seed: u64,
    n: u64,
    members: u64,
) -> Result<Driven, String> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut mine: Vec<u64> = Vec::new();
    let mut out = Driven {
        latencies_ms: Vec::with_capacity(n as usize),
        refused: 0,
    };
    for _ in 0..n {
        let member = rng.random_range(1..=members);
        let merchant = rng.random_range(1..=200);
        let roll = rng.random_range(0..100);
        let body = if roll < 70 || (roll >= 95 && mine.is_empty()) {
            let amount = rng.random_range(1_000..500_000);
            format!(
                r#"{{"type":"save","memberId":{member},"merchantId":{merchant},"dealAmount":{amount}}}"#
            )
        } else if roll < 95 {
            let points = rng.random_range(1..200);
            format!(
                r#"{{"type":"use","memberId":{member},"merchantId":{merchant},"point":"{points}"}}"#
            )
        } else {
            let original = mine.swap_remove(rng.random_range(0..mine.len()));
            format!(r#"{{"type":"cancel","originalDealId":{original}}}"#)
        };
        let t0 = Instant::now();
        let resp = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
        out.latencies_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        if status == 201 {
            if roll < 95
                && let Some(id) = deal_id(&bytes)
            {
                mine.push(id);
            }
        } else {
            out.refused += 1;
        }
    }
    Ok(out)
}

fn deal_id(body: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let ok = v.get("status")? == "success" && v.get("type")? != "cancel";
    if ok { v.get("id")?.as_u64() } else { None }
}
