//! EigenTrust recompute of the vouch factor: building the matrix, a cold solve, and the
//! recompute the background worker does — from the previous vector after 1 % of the vouches
//! changed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tg_vouch::{Edge, Graph, Params, eigentrust};

/// A deterministic xorshift generator: the same graph on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> u32 {
        (self.next() % n as u64) as u32
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Scenario {
    agents: usize,
    edges: Vec<Edge>,
    changed: Vec<Edge>,
    credibility: Vec<f64>,
    pretrusted: Vec<u32>,
}

fn scenario(agents: usize, vouches: usize) -> Scenario {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let edge = |rng: &mut Rng| Edge {
        from: rng.below(agents),
        to: rng.below(agents),
        weight: 0.1 + 0.9 * rng.unit(),
    };
    let edges: Vec<Edge> = (0..vouches).map(|_| edge(&mut rng)).collect();
    let mut changed = edges.clone();
    for e in changed.iter_mut().take(vouches / 100) {
        *e = edge(&mut rng);
    }
    let credibility = (0..agents).map(|_| 0.3 + 0.7 * rng.unit()).collect();
    let pretrusted = (0..(agents / 100).max(1))
        .map(|_| rng.below(agents))
        .collect();
    Scenario {
        agents,
        edges,
        changed,
        credibility,
        pretrusted,
    }
}

fn bench(c: &mut Criterion) {
    let params = Params::default();
    for (agents, vouches, label) in [
        (10_000, 100_000, "10k_100k"),
        (100_000, 1_000_000, "100k_1m"),
    ] {
        let s = scenario(agents, vouches);
        let graph = Graph::build(s.agents, &s.edges).unwrap();
        let cold = eigentrust(&graph, &s.credibility, &s.pretrusted, None, &params);
        let changed = Graph::build(s.agents, &s.changed).unwrap();
        let warm = eigentrust(
            &changed,
            &s.credibility,
            &s.pretrusted,
            Some(&cold.trust),
            &params,
        );
        eprintln!(
            "{label}: cold {} iterations, warm {} iterations (residual {:.1e})",
            cold.iterations, warm.iterations, warm.residual
        );
        let mut g = c.benchmark_group(format!("eigentrust/{label}"));
        g.sample_size(20);
        g.bench_function("build", |b| {
            b.iter(|| Graph::build(s.agents, black_box(&s.changed)).unwrap())
        });
        g.bench_function("cold_solve", |b| {
            b.iter(|| {
                eigentrust(
                    &changed,
                    &s.credibility,
                    black_box(&s.pretrusted),
                    None,
                    &params,
                )
            })
        });
        g.bench_function("warm_solve_after_1pct_change", |b| {
            b.iter(|| {
                eigentrust(
                    &changed,
                    &s.credibility,
                    black_box(&s.pretrusted),
                    Some(&cold.trust),
                    &params,
                )
            })
        });
        g.bench_function("recompute_build_plus_warm_solve", |b| {
            b.iter(|| {
                let g = Graph::build(s.agents, black_box(&s.changed)).unwrap();
                eigentrust(
                    &g,
                    &s.credibility,
                    &s.pretrusted,
                    Some(&cold.trust),
                    &params,
                )
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
