//! Webhook delivery throughput: outbox events delivered to a local receiver (actix-web,
//! answering 204) by the gateway's dispatcher — fan-out, leased claims, signed POSTs and a
//! recorded attempt per delivery. SQLite on a file; PostgreSQL when `TEST_DATABASE_URL`
//! is set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use tg_core::Timestamp;
use tg_service::{Gateway, GatewayConfig, NewWebhook, Store, in_transaction};
use tg_store::{Db, DbConfig};
use tg_webhooks::{EventKind, OutboxEvent, UrlPolicy};

const KEY: &str = "bench-admin-key-0123456789abcdef";

async fn gateway(store: Arc<dyn Store>) -> Gateway {
    let mut config = GatewayConfig::in_process(
        b"bench-secret-0123456789abcdefghijklmnopqrstuv".to_vec(),
        KEY,
    );
    config.webhooks.allow = UrlPolicy::parse_allow_list("127.0.0.0/8").unwrap();
    Gateway::start(store, config).await.unwrap()
}

/// Appends `n` events (untimed), then times delivering all of them.
async fn deliver(g: &Gateway, store: &dyn Store, n: u64) -> Duration {
    let events: Vec<OutboxEvent> = (0..n)
        .map(|i| {
            OutboxEvent::new(
                EventKind::AgentRegistered,
                None,
                None,
                json!({"n": i, "verification_level": 1}),
                Timestamp::now(),
            )
        })
        .collect();
    in_transaction(store, move |tx| {
        Box::pin(async move {
            for e in &events {
                tx.append_outbox(e).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    let start = Instant::now();
    let mut sent = 0;
    while sent < n as usize {
        sent += g.deliver_webhooks().await.unwrap();
    }
    start.elapsed()
}

fn bench_store(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    label: &str,
    store: Arc<dyn Store>,
    url: &str,
) {
    let g = rt.block_on(gateway(Arc::clone(&store)));
    let p = rt.block_on(g.authenticate(Some(KEY))).unwrap();
    let hook = NewWebhook {
        url: url.to_owned(),
        events: vec!["agent_registered".into()],
        secret: None,
        enabled: None,
    };
    rt.block_on(g.create_webhook(&p, hook)).unwrap();
    // End to end for one large backlog: 10 000 events appended, then delivered.
    let backlog = 10_000u64;
    let elapsed = rt.block_on(deliver(&g, store.as_ref(), backlog));
    eprintln!(
        "{label}: {backlog} deliveries in {:.2} s = {:.0} deliveries/s",
        elapsed.as_secs_f64(),
        backlog as f64 / elapsed.as_secs_f64()
    );
    let mut group = c.benchmark_group(format!("webhook_delivery/{label}"));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Elements(1));
    group.bench_function("deliver", |b| {
        b.iter_custom(|iters| rt.block_on(deliver(&g, store.as_ref(), iters)))
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = HttpServer::new(|| {
        App::new().route(
            "/hook",
            web::post().to(|| async { HttpResponse::NoContent().finish() }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    rt.spawn(server);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hooks.db").to_string_lossy().into_owned();
    let sqlite: Arc<dyn Store> =
        Arc::new(rt.block_on(Db::connect(&DbConfig::Sqlite(path))).unwrap());
    bench_store(c, &rt, "sqlite_file", sqlite, &url);
    if let Some((pg, _)) = rt.block_on(tg_store::testing::postgres()) {
        bench_store(c, &rt, "postgres", Arc::new(pg), &url);
    } else {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL delivery not measured");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
