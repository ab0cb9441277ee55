//! `GET /metrics`, read by the Prometheus project's own OpenMetrics parser (the strict one
//! in its Python client, `prometheus_client.openmetrics.parser`).
//!
//! The parser: `TEST_OPENMETRICS_PYTHON` (a python3 with `prometheus_client`; `.ci/run`
//! installs it and sets it), else `python3` if it can import `prometheus_client`. When
//! neither is there the test says so and does not run; when the variable is set it must.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::{Backend, Server, start};

const PARSER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/parse_openmetrics.py");

fn python() -> Option<String> {
    crate::support::python_with("TEST_OPENMETRICS_PYTHON", "prometheus_client")
}

/// The samples of one scrape, as the reference parser reads them.
async fn scrape(s: &Server, python: &str) -> Vec<Value> {
    let r = s.fetch("/metrics").await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let body = r.text().await.unwrap();
    assert!(!body.contains(&s.key), "no key in metrics");
    let mut child = Command::new(python)
        .arg(PARSER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the OpenMetrics parser refuses the exposition: {}\n{body}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The value of the one sample named `name` whose labels include `labels`.
fn value(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = samples
        .iter()
        .filter(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .map(|s| s["value"].as_f64().unwrap())
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0]
}

pub async fn metrics_count_decisions_receipts_requests_and_connections(backend: Backend) {
    let Some(python) = python() else {
        eprintln!(
            "no python3 with prometheus_client (set TEST_OPENMETRICS_PYTHON): metrics test not run"
        );
        return;
    };
    let s = start(backend).await;
    let id = s.register("measured").await;
    s.record(&id, "read_data", "success").await;
    s.record(&id, "read_data", "success").await;
    let (_, allowed) = s
        .post("/authorize", json!({"agent_id": id, "action": "read_data"}))
        .await;
    let (status, _) = s
        .post(
            "/authorize/batch",
            json!({"agent_id": id, "actions": ["delete_database", "transfer_funds"]}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let (status, _) = s.get("/agents/ag_000000000000000000000000").await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);

    let m = scrape(&s, &python).await;
    let allowed_n = if allowed["allowed"] == true { 1.0 } else { 0.0 };
    assert_eq!(
        value(
            &m,
            "trust_gateway_authorization_decisions_total",
            &[("outcome", "allowed")]
        ),
        allowed_n
    );
    assert_eq!(
        value(
            &m,
            "trust_gateway_authorization_decisions_total",
            &[("outcome", "denied")]
        ),
        3.0 - allowed_n
    );
    // Every decision looked its agent up in the decision state first, whatever it found.
    let lookups: f64 = ["hit", "not_held", "not_current"]
        .iter()
        .map(|r| {
            value(
                &m,
                "trust_gateway_decision_state_lookups_total",
                &[("result", r)],
            )
        })
        .sum();
    assert!(lookups >= 2.0, "{lookups}");
    assert_eq!(value(&m, "trust_gateway_receipts_recorded_total", &[]), 2.0);
    // One after the other: nothing queued behind either, so a commit each.
    assert_eq!(value(&m, "trust_gateway_receipt_commits_total", &[]), 2.0);
    // The audit writer kept up: nobody waited for room in its queue.
    assert_eq!(value(&m, "trust_gateway_audit_queue_full_total", &[]), 0.0);
    assert!(value(&m, "trust_gateway_audit_queued", &[]) >= 0.0);
    // Per route pattern, never per id.
    assert_eq!(
        value(
            &m,
            "trust_gateway_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/actions/record"),
                ("status", "201")
            ]
        ),
        2.0
    );
    assert_eq!(
        value(
            &m,
            "trust_gateway_http_requests_total",
            &[
                ("method", "GET"),
                ("route", "/agents/{id}"),
                ("status", "404")
            ]
        ),
        1.0
    );
    // A latency histogram per route: every bucket and the count.
    assert_eq!(
        value(
            &m,
            "trust_gateway_http_request_duration_seconds_bucket",
            &[("route", "/authorize/batch"), ("le", "+Inf")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "trust_gateway_http_request_duration_seconds_count",
            &[("route", "/actions/record")]
        ),
        2.0
    );
    assert_eq!(value(&m, "trust_gateway_dashboard_clients", &[]), 0.0);
    assert!(value(&m, "trust_gateway_db_connections_max", &[]) >= 1.0);
    assert!(value(&m, "trust_gateway_db_connections", &[("state", "idle")]) >= 0.0);

    // A connected dashboard is counted.
    let url = format!("{}/ws/dashboard", s.base.replace("http://", "ws://"));
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        url.as_str(),
    )
    .unwrap();
    req.headers_mut()
        .insert("x-api-key", s.key.parse().unwrap());
    let (_ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let m = scrape(&s, &python).await;
    assert_eq!(value(&m, "trust_gateway_dashboard_clients", &[]), 1.0);
}

/// `/metrics` needs a key (any scope) unless the operator makes it public.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_a_key_unless_configured_public() {
    let s = start(Backend::Sqlite).await;
    let anonymous = reqwest::get(format!("{}/metrics", s.base)).await.unwrap();
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    let keyed = s.fetch("/metrics").await;
    assert_eq!(keyed.status(), reqwest::StatusCode::OK);

    let (db, dir) = crate::support::fresh_db(Backend::Sqlite).await;
    let open = crate::support::start_on(&db, dir, &[("METRICS_PUBLIC", "true")]).await;
    let anonymous = reqwest::get(format!("{}/metrics", open.base))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), reqwest::StatusCode::OK);
    let text = anonymous.text().await.unwrap();
    assert!(
        text.contains("trust_gateway_receipts_recorded_total"),
        "{text}"
    );
    // Only /metrics opens: the rest still needs a key.
    let stats = reqwest::get(format!("{}/stats", open.base)).await.unwrap();
    assert_eq!(stats.status(), reqwest::StatusCode::UNAUTHORIZED);
}
