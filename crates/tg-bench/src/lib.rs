//! Benchmarks only: see `benches/` and `docs/PERFORMANCE.md`.
