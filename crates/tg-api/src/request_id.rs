//! Request ids: every request runs in a `request` span carrying `request_id` (the caller's
//! `X-Request-Id` if it is a sane token, else a fresh `req_…`), its method and route
//! pattern — so every log line written while serving it, use cases included, carries the
//! id. The id is echoed in the response's `X-Request-Id`. One access line per request
//! (debug; warn for 5xx) with status and latency; never the client's address or key.

use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

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

/// The request's route pattern (`/agents/{id}`, or `unmatched`), matched once per request
/// and shared by the middlewares that label with it.
#[derive(Clone)]
struct Route(String);

pub(crate) fn route(req: &ServiceRequest) -> String {
    if let Some(Route(r)) = req.extensions().get::<Route>() {
        return r.clone();
    }
    let r = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    req.extensions_mut().insert(Route(r.clone()));
    r
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
    let route = route(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = %route
    );
    let started = Instant::now();
    let res = next.call(req).instrument(span.clone()).await;
    let status = match &res {
        Ok(r) => r.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
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
    fn only_plain_tokens_are_kept() {
        assert!(acceptable("3f2a-11:ab_c.d"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("x\nlevel=ERROR fake"));
        assert!(!acceptable(&"a".repeat(65)));
    }
}
