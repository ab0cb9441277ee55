//! Schemathesis (examples, coverage, fuzzing, stateful phases; every check, its default) over the served
//! `/openapi.json`, with a fixed seed: the contract holds for what a property-based client
//! generates. `clients/python/schemathesis.toml` lists, with reasons, the few operations
//! whose acceptance rests on rules OpenAPI cannot state.
//!
//! `TEST_SCHEMATHESIS_PYTHON` names a python3 with `schemathesis` (`.ci/run` installs the
//! pinned version and sets it); else `python3` if it has it.

use std::process::Command;

use crate::support::{Backend, start_on_fresh};

/// Examples per operation and phase, and the seed: fixed, so a run is reproducible.
const EXAMPLES: &str = "100";
const SEED: &str = "20261130";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing() {
    let Some(python) = crate::support::python_with("TEST_SCHEMATHESIS_PYTHON", "schemathesis")
    else {
        eprintln!(
            "no python with schemathesis (set TEST_SCHEMATHESIS_PYTHON): \
             schemathesis_finds_nothing not run"
        );
        return;
    };
    // Generated traffic must meet the contract, not the rate limits.
    let s = start_on_fresh(
        Backend::Sqlite,
        &[
            ("RATE_LIMIT_ENTERPRISE", "1000000/s"),
            ("AUTH_FAILURE_LIMIT", "1000000/min"),
        ],
    )
    .await;
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../clients/python/schemathesis.toml"
    );
    let (document, key) = (format!("{}/openapi.json", s.base), s.key.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .args([
                "-m",
                "schemathesis.cli",
                "--config-file",
                config,
                "run",
                &document,
            ])
            .args(["--header", &format!("X-API-Key: {key}")])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--max-examples", EXAMPLES, "--seed", SEED, "--workers", "1"])
            .args(["--no-color"])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    crate::support::assert_ran(&out, "Schemathesis found failures");
}
