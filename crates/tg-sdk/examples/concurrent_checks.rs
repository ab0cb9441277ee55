//! A service checking trust on every request it serves: one shared `Client` (cheap to
//! clone, one connection pool), many `verify` calls at once. Prints throughput and the
//! latency each call saw — `scripts/load-sdk-verify.sh` uses it to measure the SDK.
//!
//! ```text
//! TG_API_KEY=$(cat trust-gateway-admin.key) cargo run --release -p tg-sdk --example concurrent_checks
//! ```
//!
//! `TG_AGENT` checks that agent (default: registers one and records 20 successes),
//! `TG_REQUESTS` calls in all (default 2000), `TG_CONCURRENCY` at once (default 32),
//! `TG_MIN_SCORE` the threshold on Joy's 0–5 scale (default 1.0).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tg_sdk::types::Attestation;
use tg_sdk::wire::agents::RegisterRequest;
use tg_sdk::wire::receipts::RecordRequest;
use tg_sdk::{AgentId, Client, Outcome};

fn setting<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| format!("{name}: `{v}` is not valid")),
        Err(_) => Ok(default),
    }
}

async fn an_agent(client: &Client) -> Result<AgentId, tg_sdk::Error> {
    let agent = client
        .register_agent(&RegisterRequest {
            attestation: Some(Attestation::ApiKey),
            ..RegisterRequest::new("checked-agent", "load", "sha256:10ad")
        })
        .await?;
    for _ in 0..20 {
        client
            .record_action(&RecordRequest::new(
                &agent.id,
                "read_data",
                Outcome::Success,
            ))
            .await?;
    }
    Ok(agent.id)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TG_URL").unwrap_or_else(|_| "http://127.0.0.1:8002".into());
    let key = std::env::var("TG_API_KEY").map_err(|_| "set TG_API_KEY to an API key")?;
    let requests: usize = setting("TG_REQUESTS", 2000)?;
    let concurrency: usize = setting("TG_CONCURRENCY", 32)?;
    let min_score: f64 = setting("TG_MIN_SCORE", 1.0)?;
    let client = Client::new(&url, &key)?;
    let agent = match std::env::var("TG_AGENT") {
        Ok(id) => AgentId::parse(&id).map_err(|e| format!("TG_AGENT: {e}"))?,
        Err(_) => an_agent(&client).await?,
    };

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, agent, next) = (client.clone(), agent.clone(), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let t = Instant::now();
                let r = client.verify(&agent, min_score).await;
                seen.push((t.elapsed(), r.meets_threshold, r.error));
            }
            seen
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(requests);
    let (mut allowed, mut errors) = (0usize, Vec::new());
    for w in workers {
        for (latency, meets, error) in w.await? {
            latencies.push(latency);
            allowed += usize::from(meets);
            errors.extend(error);
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1);
        latencies.get(i).copied().unwrap_or_default()
    };
    println!(
        "{} verify calls, {concurrency} at once: {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3,
    );
    println!(
        "meets {min_score}: {allowed}; denied: {}",
        latencies.len() - allowed
    );
    if let Some(e) = errors.first() {
        println!("{} denials carried an error, e.g. {e}", errors.len());
    }
    Ok(())
}
