//! Audit append throughput on the real stores: one event per transaction (what a use case
//! does for its own events) against the group commit of `trust_check` events (512 per
//! transaction, what the gateway's batcher writes). SQLite on a file; PostgreSQL when
//! `TEST_DATABASE_URL` is set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::{AgentId, Timestamp};
use tg_service::{Store, in_transaction};
use tg_store::{Db, DbConfig};

/// Server time moves on across batches, as in a running gateway (33 µs an event: 30k/s).
static CLOCK: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

fn events(agent: &AgentId, n: usize) -> Vec<AuditEvent> {
    let actor = Actor {
        ip_hash: Some("9f86d081884c7d65".into()),
        api_key_prefix: Some("tgk_0123abcd".into()),
    };
    (0..n)
        .map(|_| {
            AuditEvent::new(
                EventType::TrustCheck,
                Some(agent.clone()),
                json!({"threshold": 3.0, "trust_score": 3.4, "meets_threshold": true, "error": null}),
                &actor,
                Timestamp::from_micros(
                    1_800_000_000_000_000
                        + 33 * CLOCK.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                ),
            )
        })
        .collect()
}

async fn append(db: &Db, batch: Vec<AuditEvent>) {
    in_transaction(db, move |tx| {
        Box::pin(async move { Ok(tx.append_audit_batch(&batch).await?) })
    })
    .await
    .unwrap();
}

fn bench_store(c: &mut Criterion, rt: &tokio::runtime::Runtime, label: &str, db: &Db) {
    let agent = AgentId::generate();
    let mut g = c.benchmark_group(format!("audit_append/{label}"));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    for batch in [1_usize, 512] {
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(format!("batch_{batch}"), |b| {
            b.iter_custom(|iters| {
                let work: Vec<Vec<AuditEvent>> =
                    (0..iters).map(|_| events(&agent, batch)).collect();
                rt.block_on(async {
                    let start = Instant::now();
                    for w in work {
                        append(db, w).await;
                    }
                    start.elapsed()
                })
            })
        });
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db").to_string_lossy().into_owned();
    let sqlite = rt.block_on(Db::connect(&DbConfig::Sqlite(path))).unwrap();
    bench_store(c, &rt, "sqlite_file", &sqlite);
    if let Some((pg, _)) = rt.block_on(tg_store::testing::postgres()) {
        assert_eq!(pg.backend(), "postgres");
        bench_store(c, &rt, "postgres", &pg);
    } else {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL audit append not measured");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
