//! The examples, run as built, against a spawned gateway.

use std::path::PathBuf;
use std::process::Output;

use crate::support::{Gateway, KEY};

/// `target/<profile>/examples/<name>`: `cargo test` builds the examples with the tests.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run the suite with `cargo test` (which builds examples), or `cargo build -p tg-sdk --examples` first",
        path.display()
    );
    path
}

async fn run(gw: &Gateway, name: &str, extra: &[(&str, &str)]) -> String {
    let mut cmd = std::process::Command::new(example(name));
    cmd.env("TG_URL", &gw.base).env("TG_API_KEY", KEY);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let out = String::from_utf8_lossy(&stdout).into_owned();
    assert!(
        status.success(),
        "{name} failed: {status}\n{out}\n{}",
        String::from_utf8_lossy(&stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_run_against_a_local_gateway() {
    let gw = Gateway::start().await;

    let out = run(&gw, "quickstart", &[]).await;
    assert!(out.contains("registered email-bot"), "{out}");
    assert!(out.contains("receipt #10"), "{out}");
    assert!(out.contains("read_data: allowed"), "{out}");
    assert!(out.contains("delete_database: denied"), "{out}");
    assert!(out.contains("meets 1.0 on Joy's 0-5 scale: "), "{out}");

    let out = run(&gw, "tool_server", &[]).await;
    assert!(out.contains("delete_database: refused"), "{out}");

    let out = run(&gw, "live_feed", &[("TG_EVENTS", "1")]).await;
    assert!(out.contains(" initial_stats {"), "{out}");

    let load = [
        ("TG_REQUESTS", "40"),
        ("TG_CONCURRENCY", "4"),
        ("TG_MIN_SCORE", "0.5"),
    ];
    let out = run(&gw, "concurrent_checks", &load).await;
    assert!(out.contains("40 verify calls, 4 at once"), "{out}");
    assert!(out.contains("meets 0.5: 40; denied: 0"), "{out}");
}
