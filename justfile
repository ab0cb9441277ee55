# Developer shortcuts. Everything here is plain cargo underneath; `just` is optional.

# Start the server on the embedded SQLite default (port 8002).
run:
    cargo run -p trust-gateway

# The whole test suite (set TEST_DATABASE_URL to run the PostgreSQL half).
test:
    cargo test

# What CI runs: fmt, clippy, deny, architecture check, tests on SQLite and PostgreSQL.
ci:
    bash .ci/run

# Criterion benchmarks (authorization vs cedar-policy, receipts, scoring).
bench:
    cargo bench -p tg-bench

# Architecture invariants (dependency direction).
arch:
    bash .ci/check-architecture

fmt:
    cargo fmt --all

lint:
    cargo clippy --workspace --all-targets -- -D warnings
