//! `clients/python`: the installable `trust_gateway_sdk` package's own tests (pytest), and
//! the V2 README's session through it, against a live gateway.
//!
//! `TEST_SDK_PYTHON` names a python3 with the package's dependencies and pytest (`.ci/run`
//! installs `./clients/python[test]` and sets it); else `python3` if it has them.

use std::process::Command;

use crate::support::{Backend, start_on_fresh};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_passes_its_tests_against_a_live_gateway() {
    let Some(python) =
        crate::support::python_with("TEST_SDK_PYTHON", "pytest, httpx, websockets, jwt")
    else {
        eprintln!(
            "no python with pytest, httpx, websockets and PyJWT (set TEST_SDK_PYTHON): \
             the_python_sdk_passes_its_tests_against_a_live_gateway not run"
        );
        return;
    };
    let s = start_on_fresh(Backend::Sqlite, &[("WEBHOOK_ALLOW_NETS", "127.0.0.1/32")]).await;
    let sdk = concat!(env!("CARGO_MANIFEST_DIR"), "/../../clients/python");
    let (base, key) = (s.base.clone(), s.key.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
            .current_dir(sdk)
            .env("PYTHONPATH", format!("{sdk}/src"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("TG_BASE_URL", &base)
            .env("TG_API_KEY", &key)
            // Accepted by the URL check; nothing listens there (deliveries just fail).
            .env("TG_WEBHOOK_URL", "http://127.0.0.1:9/webhook")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    crate::support::assert_ran(&out, "the Python SDK's tests failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(" passed") && !stdout.contains("skipped"),
        "{stdout}"
    );
}
