//! Score recomputation after one new receipt: O(1) — the cost is the same after 10 receipts
//! as after 1 million, because the evidence summary is updated, never rebuilt. And a
//! decision's score at `now` (the numbers only) against the breakdown a trust read shows.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tg_core::{Outcome, Timestamp};
use tg_scoring::{ConfigState, Evidence, Inputs, Policy, Preset, breakdown, score};

/// An agent attested by API key, config approved, no vouches, registered at `t0`.
fn api_key_agent(evidence: &Evidence, t0: Timestamp) -> Inputs<'_> {
    Inputs {
        identity_strength: 0.6,
        config: ConfigState::Approved,
        vouch: 0.0,
        evidence,
        registered_at: t0,
    }
}

fn bench(c: &mut Criterion) {
    let policy = Policy::preset(Preset::Default);
    let t0 = Timestamp::from_secs(1_800_000_000);
    let mut g = c.benchmark_group("score after one receipt");
    for history in [10u64, 10_000, 1_000_000] {
        let mut e = Evidence::default();
        for i in 0..history {
            let outcome = if i % 10 == 0 {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            e.record(outcome, t0.plus_secs(i as i64), &policy.behavior);
        }
        let now = t0.plus_secs(history as i64 + 1);
        g.bench_with_input(BenchmarkId::from_parameter(history), &e, |b, e| {
            b.iter(|| {
                let mut e = e.clone();
                e.record(Outcome::Success, now, &policy.behavior);
                let inputs = api_key_agent(&e, t0);
                black_box(breakdown(&policy, &inputs, now).composite)
            })
        });
    }
    g.finish();

    // An agent with 30 self-reported successes, held at tier 1 by the default policy's
    // proof rule (so the breakdown formats its reason too), read a day later.
    let mut e = Evidence::default();
    for i in 0..30 {
        e.record(Outcome::Success, t0.plus_secs(i), &policy.behavior);
    }
    let inputs = api_key_agent(&e, t0);
    let now = t0.plus_secs(86_400);
    assert_eq!(
        score(&policy, &inputs, now).composite,
        breakdown(&policy, &inputs, now).composite
    );
    let mut g = c.benchmark_group("score at now");
    g.bench_function("decision (numbers only)", |b| {
        b.iter(|| black_box(score(&policy, black_box(&inputs), now)))
    });
    g.bench_function("breakdown (explained)", |b| {
        b.iter(|| black_box(breakdown(&policy, black_box(&inputs), now)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
