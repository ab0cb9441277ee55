//! OpenTelemetry: the real binary with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a local
//! OTLP/HTTP collector stand-in, which decodes what it receives with the OpenTelemetry
//! project's own protobuf definitions (`opentelemetry-proto`). Span names are the trust
//! operations; parents come from the caller's W3C `traceparent`; attributes follow the
//! HTTP and GenAI-agent conventions.

use std::collections::HashMap;
use std::sync::mpsc;

use actix_web::{App, HttpResponse, HttpServer, web};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::{Value, json};

/// The W3C Trace Context specification's own example `traceparent`.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const ADMIN_KEY: &str = "otlp-test-admin-key-0123456789";

/// Starts the collector stand-in; every span it receives goes to the returned channel.
fn collector() -> (String, mpsc::Receiver<Span>) {
    let (tx, rx) = mpsc::channel::<Span>();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        let tx = tx.clone();
        App::new().route(
            "/v1/traces",
            web::post().to(move |body: web::Bytes, req: actix_web::HttpRequest| {
                let tx = tx.clone();
                async move {
                    assert_eq!(
                        req.headers().get("content-type").unwrap(),
                        "application/x-protobuf",
                        "OTLP/HTTP binary protobuf"
                    );
                    let export = ExportTraceServiceRequest::decode(body).unwrap();
                    for resource in export.resource_spans {
                        let service = resource
                            .resource
                            .iter()
                            .flat_map(|r| &r.attributes)
                            .find(|a| a.key == "service.name")
                            .and_then(|a| a.value.clone())
                            .and_then(|v| v.value);
                        assert_eq!(service, Some(AnyValue::StringValue("trust-gateway".into())));
                        for scope in resource.scope_spans {
                            for span in scope.spans {
                                let _ = tx.send(span);
                            }
                        }
                    }
                    HttpResponse::Ok()
                        .content_type("application/x-protobuf")
                        .finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://{addr}"), rx)
}

fn attr(span: &Span, key: &str) -> Option<AnyValue> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.clone())
        .and_then(|v| v.value)
}

fn text(span: &Span, key: &str) -> Option<String> {
    match attr(span, key) {
        Some(AnyValue::StringValue(s)) => Some(s),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_operations_are_exported_as_spans_over_otlp() {
    let (endpoint, spans) = collector();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let (mut child, addr, _, _log) = tokio::task::spawn_blocking(move || {
        crate::binary::launch_with(
            &path,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
                // Export each batch at once (the default waits 5 s).
                ("OTEL_BSP_SCHEDULE_DELAY", "10"),
                ("API_KEY", ADMIN_KEY),
            ],
        )
    })
    .await
    .unwrap();
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Option<Value>, traced: bool| {
        let mut req = client
            .request(method, format!("{base}{path}"))
            .header("X-API-Key", ADMIN_KEY);
        if traced {
            req = req.header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    let (status, agent) = call(
        reqwest::Method::POST,
        "/agents/register",
        Some(json!({"name": "traced-bot", "provider": "p", "config_hash": "h", "attestation": {"type": "api_key"}})),
        true,
    )
    .await;
    assert_eq!(status, 201, "{agent}");
    let id = agent["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        reqwest::Method::POST,
        "/actions/record",
        Some(json!({"agent_id": id, "action": "read_data", "result": "success"})),
        true,
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = call(
        reqwest::Method::POST,
        "/authorize",
        Some(json!({"agent_id": id, "action": "delete_database"})),
        false,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        reqwest::Method::GET,
        &format!("/agents/{id}/trust"),
        None,
        false,
    )
    .await;
    assert_eq!(status, 200);

    // Wait for the four operations (a hang guard bounds each wait; nothing is timed).
    let wanted = [
        "register_agent",
        "record_action",
        "authorize_action",
        "get_trust_breakdown",
    ];
    let found = tokio::task::spawn_blocking(move || {
        let mut found: HashMap<String, Span> = HashMap::new();
        while !wanted.iter().all(|w| found.contains_key(*w)) {
            let span = spans
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("the spans within a minute");
            found.insert(span.name.clone(), span);
        }
        found
    })
    .await
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    // Names, kinds, HTTP attributes.
    for (name, route, status) in [
        ("register_agent", "/agents/register", 201),
        ("record_action", "/actions/record", 201),
        ("authorize_action", "/authorize", 200),
        ("get_trust_breakdown", "/agents/{id}/trust", 200),
    ] {
        let s = &found[name];
        assert_eq!(s.kind, SpanKind::Server as i32, "{name}");
        assert_eq!(text(s, "http.route").as_deref(), Some(route), "{name}");
        assert_eq!(
            attr(s, "http.response.status_code"),
            Some(AnyValue::IntValue(status)),
            "{name}"
        );
        assert_eq!(
            text(s, "gen_ai.agent.id").as_deref(),
            Some(id.as_str()),
            "{name}: the agent"
        );
        assert!(
            text(s, "request_id").is_some_and(|r| r.starts_with("req_")),
            "{name}"
        );
    }
    assert_eq!(
        text(&found["register_agent"], "gen_ai.agent.name").as_deref(),
        Some("traced-bot")
    );

    // Parents: the caller's traceparent where it sent one; a new trace where it did not.
    for name in ["register_agent", "record_action"] {
        let s = &found[name];
        assert_eq!(
            hex::encode(&s.trace_id),
            TRACE_ID,
            "{name} joins the caller's trace"
        );
        assert_eq!(
            hex::encode(&s.parent_span_id),
            PARENT_ID,
            "{name} is the caller's child"
        );
        assert_ne!(hex::encode(&s.span_id), PARENT_ID);
    }
    for name in ["authorize_action", "get_trust_breakdown"] {
        let s = &found[name];
        assert!(s.parent_span_id.is_empty(), "{name} is a root span");
        assert_ne!(hex::encode(&s.trace_id), TRACE_ID);
    }
    assert_ne!(
        found["authorize_action"].trace_id,
        found["get_trust_breakdown"].trace_id
    );
}
