//! WebSocket fan-out load: CLIENTS dashboards on a running gateway, EVENTS `auth_denied`
//! events caused through the API, and how fast and how late they arrive.
//!
//! `scripts/load-ws-fanout.sh` starts a release server and runs this against it:
//!
//!   BASE=http://127.0.0.1:18091 KEY=… CLIENTS=1000 EVENTS=5000 RATE=0 \
//!       cargo run --release -p tg-bench --example ws_fanout
//!
//! RATE: events a second the producer aims for (0: as fast as the API takes them), in
//! requests of BATCH denials (default 100; 1 for the latency of single events). Latency of one delivery = when a client read it − the event's
//! `timestamp` (taken when the decision was made, before its audit batch commits), so it
//! covers commit, fan-out, publish and the socket. Clients and server share the machine.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tg_core::Timestamp;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let base = std::env::var("BASE").expect("BASE=http://host:port");
    let key = std::env::var("KEY").expect("KEY=an API key");
    let clients: usize = env_or("CLIENTS", 1000);
    // Denials per request (1–100).
    let batch: usize = env_or("BATCH", 100usize).clamp(1, 100);
    let events: usize = env_or("EVENTS", 5000usize).div_ceil(batch) * batch;
    let rate: f64 = env_or("RATE", 0.0);
    let http = reqwest::Client::new();

    let agent: Value = http
        .post(format!("{base}/agents/register"))
        .header("x-api-key", &key)
        .json(&json!({"name": "fanout", "provider": "bench", "config_hash": "h"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let agent = agent["id"].as_str().unwrap().to_owned();

    // Connect every client; each reads its initial_stats before the clock starts.
    let ws_url = format!("{}/ws/dashboard", base.replace("http://", "ws://"));
    let ready = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut readers = Vec::with_capacity(clients);
    for _ in 0..clients {
        let mut req = ws_url.as_str().into_client_request().unwrap();
        req.headers_mut().insert("x-api-key", key.parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let ready = Arc::clone(&ready);
        readers.push(tokio::spawn(async move {
            let mut latencies: Vec<i64> = Vec::with_capacity(events);
            let mut first = true;
            while latencies.len() < events {
                let text = match ws.next().await {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                    other => panic!("connection ended: {other:?}"),
                };
                let now = Timestamp::now();
                if first {
                    first = false;
                    ready.wait().await;
                    continue;
                }
                let m: Value = serde_json::from_str(&text).unwrap();
                if m["type"] != "auth_denied" {
                    continue;
                }
                let at = Timestamp::parse_rfc3339(m["timestamp"].as_str().unwrap()).unwrap();
                latencies.push(now.as_micros() - at.as_micros());
            }
            (latencies, Instant::now())
        }));
    }
    ready.wait().await;
    eprintln!("{clients} clients connected; sending {events} events");

    let start = Instant::now();
    let per_batch = (rate > 0.0).then(|| Duration::from_secs_f64(batch as f64 / rate));
    for b in 0..events / batch {
        let actions: Vec<String> = (0..batch).map(|i| format!("fanout-{b}-{i}")).collect();
        let r = http
            .post(format!("{base}/authorize/batch"))
            .header("x-api-key", &key)
            .json(&json!({"agent_id": agent, "actions": actions}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        if let Some(step) = per_batch {
            let due = start + step * (u32::try_from(b).unwrap() + 1);
            tokio::time::sleep_until(due.into()).await;
        }
    }
    let sent = start.elapsed();

    let mut all = Vec::with_capacity(clients * events);
    let mut last = start;
    for r in readers {
        let (lat, done) = r.await.unwrap();
        all.extend(lat);
        last = last.max(done);
    }
    let elapsed = last.duration_since(start).as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        let i = ((all.len() as f64 * p) as usize).min(all.len() - 1);
        all[i] as f64 / 1000.0
    };
    let rate_label = if rate > 0.0 {
        format!("{rate}/s")
    } else {
        "max".into()
    };
    println!(
        "clients={clients} events={events} batch={batch} rate={rate_label} sent_in={:.2}s all_delivered_in={elapsed:.2}s",
        sent.as_secs_f64(),
    );
    println!(
        "events/s={:.0} deliveries/s={:.0} latency_ms p50={:.1} p90={:.1} p99={:.1} max={:.1}",
        events as f64 / elapsed,
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0),
    );
}
