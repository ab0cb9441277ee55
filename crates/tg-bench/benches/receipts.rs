//! Receipt append (hash + HMAC, no database) and chain verification throughput.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tg_core::{AgentId, Outcome, Timestamp};
use tg_receipts::{ChainHead, ChainVerifier, Draft, Receipt, ReceiptSigner};

fn draft(agent: &AgentId, i: i64) -> Draft {
    Draft {
        agent_id: agent.clone(),
        action: "send_email".into(),
        result: Outcome::Success,
        timestamp: Timestamp::from_secs(1_800_000_000 + i),
        reported_at: None,
        witness: None,
    }
}

fn chain(signer: &ReceiptSigner, n: usize) -> Vec<Receipt> {
    let agent = AgentId::generate();
    let mut head = ChainHead::EMPTY;
    (0..n)
        .map(|i| {
            let r = signer.append(head, draft(&agent, i as i64));
            head = ChainHead {
                seq: r.seq,
                hash: r.receipt_hash,
            };
            r
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let signer = ReceiptSigner::from_secret(b"bench-secret-bench-secret-bench-secret");
    let agent = AgentId::generate();
    let mut g = c.benchmark_group("receipts");
    let mut head = ChainHead::EMPTY;
    let mut i = 0i64;
    g.bench_function("append (hash + sign, CPU only)", |b| {
        b.iter(|| {
            i += 1;
            let r = signer.append(head, draft(&agent, i));
            head = ChainHead {
                seq: r.seq,
                hash: r.receipt_hash,
            };
            black_box(r)
        })
    });
    let receipts = chain(&signer, 10_000);
    g.throughput(Throughput::Elements(receipts.len() as u64));
    g.bench_function("verify chain of 10k", |b| {
        b.iter(|| {
            let mut v = ChainVerifier::new(&signer);
            for r in &receipts {
                v.push(r).unwrap();
            }
            black_box(v.finish())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
