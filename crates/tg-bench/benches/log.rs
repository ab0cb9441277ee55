//! The transparency log: what integration, proofs and exports cost.
//!
//! - `log/cpu`: appending to tiles and proving over them, no database.
//! - `log/<store>`: on a real SQLite file, and PostgreSQL when `TEST_DATABASE_URL` is set:
//!   integrating 10k receipts (`integrate_log`), beside the raw INSERT of the same 10k
//!   receipts in one transaction; an inclusion proof at `LOG_BENCH_LEAVES` leaves
//!   (default 1M; `log_inclusion`, the server's whole work for `GET /log/proof/inclusion`);
//!   and a 100k-receipt export with every proof (both passes, as the API streams them).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tg_core::{AgentId, Outcome, Timestamp};
use tg_log::tiles::{append, right_edge};
use tg_log::{Hash, Leaves, Tiles, inclusion_proof, leaf_hash};
use tg_receipts::{ChainHead, Draft, Receipt, ReceiptSigner};
use tg_service::{Gateway, GatewayConfig, Store, in_transaction};
use tg_store::{Db, DbConfig};

const SECRET: &[u8] = b"log-bench-secret-0123456789abcdefghij";
const ADMIN: &str = "log-bench-admin-key-0123456789";

fn leaf(i: u64) -> Hash {
    leaf_hash(&i.to_be_bytes())
}

/// The tiles of a tree of `n` leaves, appended in batches of 10k as the sequencer does.
fn tiles_of(n: u64) -> Tiles {
    let mut tiles = Tiles::default();
    let mut size = 0;
    while size < n {
        let take = 10_000.min(n - size);
        let new: Vec<Hash> = (size..size + take).map(leaf).collect();
        let mut edge = Tiles::default();
        for id in right_edge(size) {
            edge.0.insert(id, tiles.0[&id].clone());
        }
        for (id, h) in append(size, &edge, &new).unwrap() {
            tiles.0.insert(id, h);
        }
        size += take;
    }
    tiles
}

fn bench_cpu(c: &mut Criterion) {
    let mut g = c.benchmark_group("log/cpu");
    let new: Vec<Hash> = (0..10_000).map(leaf).collect();
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("append 10k leaves to tiles", |b| {
        b.iter(|| append(0, &Tiles::default(), &new).unwrap())
    });
    g.throughput(Throughput::Elements(1));
    let tiles = tiles_of(1 << 20);
    let mut i = 0u64;
    g.bench_function("inclusion proof at 1M leaves (tiles in memory)", |b| {
        b.iter(|| {
            i = (i + 7919) % (1 << 20);
            inclusion_proof(&tiles, i, 1 << 20).unwrap()
        })
    });
    let flat = Leaves((0..1024).map(leaf).collect());
    let root = tg_log::root(&flat, 1024).unwrap();
    let proof = inclusion_proof(&flat, 5, 1024).unwrap();
    g.bench_function("verify an inclusion proof (1k leaves)", |b| {
        b.iter(|| assert!(tg_log::verify_inclusion(&leaf(5), 5, 1024, &proof, &root)))
    });
    g.finish();
}

fn draft(agent: &AgentId, i: u64) -> Draft {
    Draft {
        agent_id: agent.clone(),
        action: "read_data".into(),
        result: Outcome::Success,
        timestamp: Timestamp::from_micros(1_800_000_000_000_000 + i as i64),
        reported_at: None,
        witness: None,
    }
}

/// Appends `n` receipts to `agent`'s chain straight into the store (10k per transaction)
/// and records the new head; answers the head.
async fn fill(store: &Db, agent: &AgentId, mut head: ChainHead, n: u64) -> ChainHead {
    let signer = ReceiptSigner::from_secret(SECRET);
    let mut done = 0;
    while done < n {
        let take = 10_000.min(n - done);
        let mut batch: Vec<Receipt> = Vec::with_capacity(take as usize);
        for i in 0..take {
            let r = signer.append(head, draft(agent, head.seq + i));
            head = ChainHead {
                seq: r.seq,
                hash: r.receipt_hash,
            };
            batch.push(r);
        }
        let (agent, mac) = (agent.clone(), signer.head_mac(agent, &head));
        in_transaction(store, move |tx| {
            Box::pin(async move {
                for r in &batch {
                    tx.append_receipt(r).await?;
                }
                let mut state = tx.get_trust(&agent).await?.unwrap();
                state.chain = head;
                state.chain_mac = Some(mac);
                tx.update_trust(&state).await?;
                Ok(())
            })
        })
        .await
        .unwrap();
        done += take;
    }
    head
}

async fn gateway(db: &DbConfig, name: &str) -> (Arc<Db>, Gateway, AgentId) {
    let store = Arc::new(Db::connect(db).await.unwrap());
    let mut config = GatewayConfig::in_process(SECRET.to_vec(), ADMIN);
    config.log.origin = "bench.invalid/log".into();
    config.log.batch = 10_000;
    let g = Gateway::start(Arc::clone(&store) as Arc<dyn Store>, config)
        .await
        .unwrap();
    let agent = register(&g, name).await;
    (store, g, agent)
}

/// A new agent on `g`, registered by the admin.
async fn register(g: &Gateway, name: &str) -> AgentId {
    let p = g.authenticate(Some(ADMIN)).await.unwrap();
    let reg = tg_service::Registration {
        name: name.into(),
        provider: "p".into(),
        spiffe_id: None,
        config_hash: "h".into(),
        capabilities: vec![],
        attestation: Some(tg_identity::Attestation::ApiKey),
        a2a: None,
    };
    g.register(&p, &g.actor(Some(&p), None), reg)
        .await
        .unwrap()
        .agent
        .id
}

fn bench_store(c: &mut Criterion, rt: &tokio::runtime::Runtime, label: &str, db: &DbConfig) {
    let leaves: u64 = std::env::var("LOG_BENCH_LEAVES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 20);
    let (store, g, agent) = rt.block_on(gateway(db, "bench"));
    let head = std::cell::Cell::new(ChainHead::EMPTY);
    let mut grp = c.benchmark_group(format!("log/{label}"));
    grp.sample_size(10);
    grp.measurement_time(Duration::from_secs(20));
    grp.throughput(Throughput::Elements(10_000));
    grp.bench_function("INSERT 10k receipts (one transaction; the baseline)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    head.set(fill(&store, &agent, head.get(), 10_000).await);
                    spent += start.elapsed();
                    g.integrate_log().await.unwrap();
                }
                spent
            })
        })
    });
    grp.bench_function("integrate 10k receipts", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    head.set(fill(&store, &agent, head.get(), 10_000).await);
                    let start = Instant::now();
                    let round = g.integrate_log().await.unwrap();
                    spent += start.elapsed();
                    assert_eq!(round.integrated, 10_000);
                }
                spent
            })
        })
    });
    // Grow the log to `leaves` and prove random leaves in it.
    rt.block_on(async {
        let size = g.integrate_log().await.unwrap().size;
        if size < leaves {
            head.set(fill(&store, &agent, head.get(), leaves - size).await);
            while g.integrate_log().await.unwrap().integrated > 0 {}
        }
    });
    let size = rt.block_on(g.integrate_log()).unwrap().size;
    let p = rt.block_on(g.authenticate(Some(ADMIN))).unwrap();
    let mut seq = 0u64;
    grp.throughput(Throughput::Elements(1));
    grp.bench_function(format!("inclusion proof at {size} leaves"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    seq = (seq + 7919) % head.get().seq + 1;
                    let r = g.receipts(&p, &agent, 1, Some(seq + 1)).await.unwrap();
                    let leaf = leaf_hash(&r[0].receipt_hash);
                    let start = Instant::now();
                    let proof = g.log_inclusion(leaf, size).await.unwrap();
                    spent += start.elapsed();
                    assert_eq!(Some(proof.leaf_index), r[0].log_index);
                }
                spent
            })
        })
    });
    grp.finish();
    // An export of 100k receipts with their proofs: one timed pass, reported as a rate.
    let exported = rt.block_on(async {
        let agent2 = register(&g, "exported").await;
        fill(&store, &agent2, ChainHead::EMPTY, 100_000).await;
        while g.integrate_log().await.unwrap().integrated > 0 {}
        let start = Instant::now();
        let mut export = g.export_receipts(&p, &agent2).await.unwrap();
        let mut receipts = 0;
        while let Some(page) = export.next_page().await.unwrap() {
            receipts += page.len();
        }
        export.finish(Timestamp::from_secs(1_900_000_000)).unwrap();
        let chain = start.elapsed();
        export.begin_log().await.unwrap().unwrap();
        let mut proofs = 0;
        while let Some(page) = export.next_proof_page().await.unwrap() {
            proofs += page.len();
        }
        (receipts, proofs, chain, start.elapsed())
    });
    let (receipts, proofs, chain, took) = exported;
    println!(
        "log/{label}/export with proofs: {receipts} receipts, {proofs} proofs in {:.2} s = {:.0} receipts/s \
         (the chain pass {:.2} s, the proof pass {:.2} s)",
        took.as_secs_f64(),
        receipts as f64 / took.as_secs_f64(),
        chain.as_secs_f64(),
        (took - chain).as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    bench_cpu(c);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db").to_string_lossy().into_owned();
    bench_store(c, &rt, "sqlite_file", &DbConfig::Sqlite(path));
    if let Some((_, db)) = rt.block_on(tg_store::testing::postgres()) {
        bench_store(c, &rt, "postgres", &db);
    } else {
        eprintln!("TEST_DATABASE_URL unset: the log on PostgreSQL not measured");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
