//! Request ids and traces: every request runs in a `request` span carrying `request_id`
//! (the caller's `X-Request-Id` if it is a sane token, else a fresh `req_…`), its method and
//! route pattern — so every log line written while serving it, use cases included, carries
//! the id. The id is echoed in the response's `X-Request-Id`. One access line per request
//! (debug; warn for 5xx) with status and latency; never the client's address or key.
//!
//! The same span is the request's OpenTelemetry server span when the binary exports
//! traces: named after the operation (`register_agent`, `authorize_action`, … — the
//! OpenAPI operation ids, which are the V2 seed's names), child of the caller's W3C
//! `traceparent`, with OpenTelemetry's HTTP and GenAI-agent attributes (`http.route`,
//! `http.response.status_code`, `gen_ai.agent.id`, `gen_ai.agent.name`).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

const HEADER: HeaderName = HeaderName::from_static("x-request-id");
const MAX_LEN: usize = 64;

/// A caller's id is kept only if it cannot forge log content: 1–64 of `A-Za-z0-9-_.:`.
fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// W3C trace-context headers, read by the configured propagator.
struct Carrier<'a>(&'a HeaderMap);

impl opentelemetry::propagation::Extractor for Carrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The agent a request is about, from its path: `/agents/{id}…` or `…/{agent_id}…`.
/// (Path parameters are parsed after the middlewares run: this reads the segment that
/// lines up with the parameter in the route pattern.)
fn path_agent<'a>(path: &'a str, route: &str) -> Option<&'a str> {
    let wanted = if route.starts_with("/agents/{id}") {
        "{id}"
    } else {
        "{agent_id}"
    };
    route
        .split('/')
        .zip(path.split('/'))
        .find(|(pattern, _)| *pattern == wanted)
        .map(|(_, segment)| segment)
}

/// Records on the current request span the agent it concerns (OpenTelemetry GenAI agent
/// attributes), for operations that name it in the body. Only a plausible id is recorded:
/// the body is the caller's text.
pub(crate) fn record_agent(id: &str, name: Option<&str>) {
    let span = tracing::Span::current();
    if acceptable(id) {
        span.record("gen_ai.agent.id", id);
    }
    if let Some(n) = name {
        span.record("gen_ai.agent.name", n);
    }
}

pub(crate) async fn trace(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(
            || format!("req_{}", tg_core::random_hex::<8>()),
            str::to_owned,
        );
    let matched = crate::route_match::matched(&req);
    let route = matched.pattern;
    let operation = matched
        .operation
        .map_or_else(|| format!("{} {route}", req.method()), str::to_owned);
    let span = tracing::info_span!(
        "request",
        otel.name = %operation,
        otel.kind = "server",
        otel.status_code = Empty,
        request_id = %id,
        http.request.method = %req.method(),
        http.route = %route,
        http.response.status_code = Empty,
        gen_ai.agent.id = Empty,
        gen_ai.agent.name = Empty,
    );
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&Carrier(req.headers())));
    // Without an OpenTelemetry layer (no exporter) there is nothing to attach to.
    let _ = span.set_parent(parent);
    if let Some(agent) = path_agent(req.path(), route).filter(|a| acceptable(a)) {
        span.record("gen_ai.agent.id", agent);
    }
    let started = Instant::now();
    let res = next.call(req).instrument(span.clone()).await;
    let status = match &res {
        Ok(r) => r.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), latency_ms, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), latency_ms, "request");
        }
    });
    let mut res = res?;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn the_agent_is_read_from_the_path_where_the_route_names_it() {
        use super::path_agent;
        assert_eq!(
            path_agent("/agents/ag_1/trust", "/agents/{id}/trust"),
            Some("ag_1")
        );
        assert_eq!(
            path_agent("/receipts/ag_2/verify", "/receipts/{agent_id}/verify"),
            Some("ag_2")
        );
        assert_eq!(path_agent("/delegations/del_1", "/delegations/{id}"), None);
        assert_eq!(path_agent("/health", "/health"), None);
    }

    #[test]
    fn only_plain_tokens_are_kept() {
        assert!(acceptable("3f2a-11:ab_c.d"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("x\nlevel=ERROR fake"));
        assert!(!acceptable(&"a".repeat(65)));
    }
}
