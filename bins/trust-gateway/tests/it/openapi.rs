//! The OpenAPI document: served, unchanged unless on purpose (snapshot), valid OpenAPI 3.1
//! by an independent validator, describing exactly the routes the server mounts; and the
//! Swagger UI at `/docs/` served from the binary.
//!
//! Snapshot: `docs/openapi.json`. After an intended API change, regenerate it with
//! `UPDATE_OPENAPI=1 cargo test openapi_document_matches_the_snapshot` and review the diff.
//!
//! Validator: `openapi-spec-validator` (Python). `TEST_OPENAPI_PYTHON` names a python3
//! that has it (`.ci/run` installs it and sets it), else `python3` if it can import it.
//! When neither is there the validity test says so and does not run; when the variable is
//! set it must.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::support::{Backend, assert_ran, start};

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `GET /openapi.json`, without a key (the contract is public, like `/health`).
async fn fetch_document() -> (String, Value) {
    let s = start(Backend::Sqlite).await;
    let r = reqwest::get(format!("{}/openapi.json", s.base))
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    let text = r.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    (text, doc)
}

fn pretty(doc: &Value) -> String {
    serde_json::to_string_pretty(doc).unwrap() + "\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_matches_the_snapshot() {
    let (_, doc) = fetch_document().await;
    assert_eq!(doc["openapi"], "3.1.0");
    let current = pretty(&doc);
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(SNAPSHOT, &current).unwrap();
        return;
    }
    let snapshot = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    if snapshot != current {
        let first = snapshot
            .lines()
            .zip(current.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(snapshot.lines().count().min(current.lines().count()));
        panic!(
            "the API contract changed (first difference at line {} of docs/openapi.json):\n\
             snapshot: {:?}\nserved:   {:?}\n\
             if the change is intended, run `UPDATE_OPENAPI=1 cargo test \
             openapi_document_matches_the_snapshot` and commit the new docs/openapi.json",
            first + 1,
            snapshot.lines().nth(first),
            current.lines().nth(first),
        );
    }
}

/// `(METHOD, /path)` of every operation in the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_every_operation_is_routed() {
    let (_, doc) = fetch_document().await;
    let table = tg_api::route_table();
    let routed: BTreeSet<(String, String)> = table
        .iter()
        // A tail pattern (`{path:.*}`) is documented as its parameter (`{path}`).
        .map(|r| (r.method.as_str().to_owned(), r.path.replace(":.*}", "}")))
        .collect();
    assert_eq!(routed.len(), table.len(), "a route is mounted twice");
    let documented = operations(&doc);
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes not in the document: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "operations the server does not route: {unrouted:?}"
    );
    assert!(routed.len() >= 60, "{}", routed.len());

    // Each operation: a unique operationId, a tag, a success answer; JSON errors described.
    let mut ids = BTreeSet::new();
    for (method, path) in &documented {
        let op = &doc["paths"][path][method.to_lowercase()];
        let id = op["operationId"].as_str().unwrap();
        assert!(ids.insert(id.to_owned()), "operationId {id} twice");
        assert!(op["tags"][0].is_string(), "{method} {path} has no tag");
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses
                .keys()
                .any(|k| k.starts_with('2') || k.starts_with('3') || k == "101"),
            "{method} {path}: no success answer"
        );
        let public = op["security"] == serde_json::json!([{}]);
        if !public {
            let unauthorized = &op["responses"]["401"]["content"]["application/json"]["schema"];
            // The OAuth token endpoint adds RFC 6749's `error` fields to the envelope.
            let envelope = if path == "/oauth/token" {
                "OAuthErrorBody"
            } else {
                "ErrorBody"
            };
            assert_eq!(
                unauthorized["$ref"],
                format!("#/components/schemas/{envelope}"),
                "{method} {path}: 401 not described"
            );
        }
    }
    // The V2 seed's operation names, which the tracing spans share.
    for name in [
        "register_agent",
        "get_trust_breakdown",
        "get_trust_history",
        "get_agent_card",
        "issue_token",
        "record_action",
        "authorize_action",
        "authorize_batch",
    ] {
        assert!(ids.contains(name), "operationId {name} missing");
    }
    // Authenticated by `X-API-Key` unless an operation says otherwise.
    assert_eq!(doc["security"], serde_json::json!([{"api_key": []}]));
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"],
        serde_json::json!({"type": "apiKey", "in": "header", "name": "X-API-Key",
            "description": doc["components"]["securitySchemes"]["api_key"]["description"]})
    );
    // Every `$ref` resolves.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    for r in refs {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(&r);
        assert!(schemas.contains_key(name), "dangling $ref {r}");
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                out.push(r.clone());
            }
            o.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn validator_python() -> Option<String> {
    crate::support::python_with("TEST_OPENAPI_PYTHON", "openapi_spec_validator")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_valid_openapi_3_1() {
    let Some(python) = validator_python() else {
        eprintln!(
            "no openapi-spec-validator (set TEST_OPENAPI_PYTHON): \
             the_document_is_valid_openapi_3_1 not run"
        );
        return;
    };
    let (text, _) = fetch_document().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(&python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .unwrap();
    assert_ran(&out, "openapi-spec-validator refuses the document");
    // A broken document is refused (the validator really checks).
    let mut broken: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    broken["paths"]["/health"]["get"]["responses"] = Value::String("not a map".into());
    std::fs::write(&file, broken.to_string()).unwrap();
    let out = Command::new(&python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the validator accepted a broken document"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_ui_is_served_from_the_binary() {
    let s = start(Backend::Sqlite).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(format!("{}/docs", s.base)).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.headers()["location"], "/docs/");

    // No key needed; every asset the page names is served by the gateway itself.
    let r = client
        .get(format!("{}/docs/", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|t| t.starts_with("./") && (t.ends_with(".js") || t.ends_with(".css")))
        .collect();
    assert!(assets.len() >= 3, "{assets:?}");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "nothing loaded from elsewhere: {html}"
    );
    let mut initializer = String::new();
    for a in assets {
        let r = client
            .get(format!("{}/docs/{}", s.base, a.trim_start_matches("./")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK, "{a}");
        let body = r.text().await.unwrap();
        assert!(!body.is_empty(), "{a}");
        if a.contains("swagger-initializer") {
            initializer = body;
        }
    }
    assert!(
        initializer.contains("/openapi.json"),
        "the UI reads our document: {initializer}"
    );
}

/// The generator: `TEST_OPENAPI_CLIENT_GENERATOR` (`.ci/run` sets it), else
/// `openapi-python-client` beside the validator's python or on `PATH`.
fn client_generator(python: &str) -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("TEST_OPENAPI_CLIENT_GENERATOR").filter(|p| !p.is_empty()) {
        return Some(p.into());
    }
    let beside = std::path::Path::new(python).with_file_name("openapi-python-client");
    if beside.is_file() {
        return Some(beside);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("openapi-python-client"))
        .find(|p| p.is_file())
}

/// `clients/python/generate.sh` builds the client from the served document, unedited, and
/// `clients/python/scenario.py` drives a whole session through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_python_client_runs_a_scenario() {
    let Some(python) = validator_python() else {
        eprintln!(
            "no python with the OpenAPI tools (set TEST_OPENAPI_PYTHON): \
             the_generated_python_client_runs_a_scenario not run"
        );
        return;
    };
    let Some(generator) = client_generator(&python) else {
        eprintln!(
            "no openapi-python-client (set TEST_OPENAPI_CLIENT_GENERATOR): \
             the_generated_python_client_runs_a_scenario not run"
        );
        return;
    };
    let clients = concat!(env!("CARGO_MANIFEST_DIR"), "/../../clients/python");
    let s = start(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let generated = Command::new("bash")
        .arg(format!("{clients}/generate.sh"))
        .arg(format!("{}/openapi.json", s.base))
        .arg(dir.path())
        .env("OPENAPI_PYTHON_CLIENT", &generator)
        .output()
        .unwrap();
    assert_ran(&generated, "the generator refused the document");
    let base = s.base.clone();
    let key = s.key.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(format!("{clients}/scenario.py"))
            .args([&base, &key])
            .env("PYTHONPATH", dir.path())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("scenario ok"),
        "the scenario failed through the generated client:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The route table says which routes need no key, and the authentication middleware reads
/// it: the document's anonymous operations (`{}` among `security`) are exactly those, and every
/// other route answers 401 to a caller without a key before anything else is looked at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_marked_public_are_the_documents_and_every_other_route_needs_a_key() {
    let (_, doc) = fetch_document().await;
    let table = tg_api::route_table();
    for r in &table {
        let path = r.path.replace(":.*}", "}");
        let op = &doc["paths"][&path][r.method.as_str().to_lowercase()];
        let anonymous = op["security"]
            .as_array()
            .is_some_and(|a| a.contains(&serde_json::json!({})));
        // `/metrics` is anonymous only where the operator says so (`METRICS_PUBLIC`).
        let documented_public = anonymous && r.path != "/metrics";
        assert_eq!(r.public, documented_public, "{} {}", r.method, r.path);
    }
    let public: BTreeSet<_> = table.iter().filter(|r| r.public).map(|r| r.path).collect();
    assert!(public.contains("/health") && public.contains("/agents/{id}/agent-card.json"));
    assert!(!public.contains("/authorize") && !public.contains("/admin/log/keys"));

    let s = start(Backend::Sqlite).await;
    for r in table.iter().filter(|r| !r.public) {
        // Any value for a path parameter: authentication comes first.
        let mut path = String::new();
        let mut rest = r.path;
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').unwrap() + open;
            path.push_str(&rest[..open]);
            path.push('x');
            rest = &rest[close + 1..];
        }
        path.push_str(rest);
        let method = reqwest::Method::from_bytes(r.method.as_str().as_bytes()).unwrap();
        let resp = s
            .client
            .request(method, format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            reqwest::StatusCode::UNAUTHORIZED,
            "{} {path}",
            r.method
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized", "{} {path}", r.method);
    }
}
