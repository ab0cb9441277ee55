//! `GET /metrics`: Prometheus metrics in the OpenMetrics text format — the gateway's own
//! (decisions, receipts, webhook deliveries, dashboards, database connections) and, per
//! route, HTTP request counts and latency. Counts and route patterns only, never ids, keys
//! or addresses. It needs a key (any scope; Prometheus sends one with its scrape config's
//! `http_headers`) unless the server runs with `METRICS_PUBLIC=true`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tg_service::Gateway;

use crate::AppState;

pub(crate) const PATH: &str = "/metrics";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    /// The route pattern (`/agents/{id}`), or `unmatched`: bounded, whatever is requested.
    route: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: &'static str,
}

/// The method as a label: one of HTTP's own, or `other` (a client may send any token, and
/// must not grow the label set).
fn method_label(method: &actix_web::http::Method) -> &'static str {
    const OWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
    ];
    OWN.into_iter()
        .find(|m| *m == method.as_str())
        .unwrap_or("other")
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … ~4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// The registry and the HTTP families; shared by every worker.
#[derive(Debug)]
pub(crate) struct HttpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl HttpMetrics {
    pub(crate) fn new(gateway: &Gateway) -> Self {
        let mut registry = Registry::with_prefix("trust_gateway");
        gateway.metrics().register(&mut registry);
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_requests",
            "HTTP requests, by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency, by method and route",
            latency.clone(),
        );
        Self {
            registry,
            requests,
            latency,
        }
    }
}

/// Counts and times every request (outermost, so rejected ones count too).
pub(crate) async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = crate::route_match::matched(&req).pattern;
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| std::sync::Arc::clone(&s.metrics));
    let res = next.call(req).await;
    if let Some(m) = metrics {
        let status = match &res {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        m.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
        m.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(started.elapsed().as_secs_f64());
    }
    res
}

pub(crate) fn routes(r: &mut crate::routes::Routes) {
    r.get(PATH, metrics);
}

/// Prometheus metrics (OpenMetrics text). Needs a key unless the server runs with
/// `METRICS_PUBLIC=true`.
#[utoipa::path(get, path = "/metrics", tag = "system", operation_id = "metrics",
    security(("api_key" = []), ()),
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text; version=1.0.0", body = String),
        (status = 401, description = "No valid key (and `METRICS_PUBLIC` is not set)", body = crate::openapi::ErrorBody)))]
async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, crate::ApiError> {
    state.gateway.refresh_metrics();
    let mut body = String::new();
    prometheus_client::encoding::text::encode(&mut body, &state.metrics.registry)
        .map_err(|e| tg_service::ServiceError::internal_because("metrics encoding failed", e))?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(body))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_web::http::Method;

    use super::method_label;

    #[test]
    fn a_method_outside_https_own_is_labelled_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        for token in ["PROPFIND", "BREW", "get"] {
            let m = Method::from_bytes(token.as_bytes()).unwrap();
            assert_eq!(method_label(&m), "other", "{token}");
        }
    }
}
