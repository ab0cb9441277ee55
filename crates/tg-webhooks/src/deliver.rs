//! One HTTP attempt: signed, SSRF-checked, no redirects, bounded in time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ssrf::{CheckedResolver, UrlError, UrlPolicy};
use crate::{SigningSecret, signature_header};

/// What the receiver did with an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Delivered,
    /// 410: the receiver says the endpoint is gone; it is disabled.
    Gone,
    /// Anything else (3xx included: redirects are not followed), or no answer.
    Failed,
}

/// The record of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    pub verdict: Verdict,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The receiver's `Retry-After`, raw.
    pub retry_after: Option<String>,
}

/// The HTTP side of delivery.
#[derive(Debug, Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    policy: Arc<UrlPolicy>,
}

/// A message ready to send.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub url: &'a str,
    /// `webhook-id`: the outbox event id, the same on every attempt.
    pub id: &'a str,
    /// Unix seconds of this attempt.
    pub timestamp: i64,
    pub body: &'a [u8],
    pub secrets: &'a [SigningSecret],
}

impl Deliverer {
    pub fn new(policy: Arc<UrlPolicy>, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            // Never through HTTP(S)_PROXY / ALL_PROXY: a proxy would connect to the target
            // itself, past the checked resolver (SSRF).
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .dns_resolver(Arc::new(CheckedResolver(Arc::clone(&policy))))
            .user_agent(concat!(
                "trust-gateway-webhooks/",
                env!("CARGO_PKG_VERSION")
            ))
            .pool_max_idle_per_host(8)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { client, policy })
    }

    pub fn policy(&self) -> &UrlPolicy {
        &self.policy
    }

    pub async fn send(&self, m: Message<'_>) -> AttemptResult {
        let started = Instant::now();
        let failed = |error: String, started: Instant| AttemptResult {
            verdict: Verdict::Failed,
            status: None,
            latency_ms: elapsed_ms(started),
            error: Some(error),
            retry_after: None,
        };
        // IP-literal hosts never reach the resolver: check them here, every time.
        if let Err(e) = self.policy.check_url(m.url) {
            return failed(e.to_string(), started);
        }
        let signature = signature_header(m.secrets, m.id, m.timestamp, m.body);
        let response = self
            .client
            .post(m.url)
            .header("content-type", "application/json")
            .header("webhook-id", m.id)
            .header("webhook-timestamp", m.timestamp.to_string())
            .header("webhook-signature", signature)
            .body(m.body.to_vec())
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return failed(describe(&e), started),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(64).collect());
        let verdict = match status {
            200..=299 => Verdict::Delivered,
            410 => Verdict::Gone,
            _ => Verdict::Failed,
        };
        let error = (verdict != Verdict::Delivered).then(|| match status {
            300..=399 => format!("HTTP {status} (redirects are not followed)"),
            _ => format!("HTTP {status}"),
        });
        AttemptResult {
            verdict,
            status: Some(status),
            latency_ms: elapsed_ms(started),
            error,
            retry_after,
        }
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What a failed attempt records, in coarse classes only: the endpoint's owner learns
/// that its endpoint failed and roughly why, but the attempt log is no port scanner — a
/// refused connection, an unreachable host and a failed DNS lookup read the same, and a
/// host resolving to a non-public address is not named.
fn describe(e: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<UrlError>().is_some() {
            return "refused: the URL's host resolves to a non-public address (allow-list it in WEBHOOK_ALLOW_NETS)".into();
        }
        source = s.source();
    }
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_body() || e.is_decode() {
        "the response could not be read".into()
    } else {
        "the request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliverer(allow: &str) -> Deliverer {
        let allow = UrlPolicy::parse_allow_list(allow).unwrap();
        Deliverer::new(Arc::new(UrlPolicy::new(allow)), Duration::from_secs(5)).unwrap()
    }

    async fn attempt(d: &Deliverer, url: &str) -> AttemptResult {
        d.send(Message {
            url,
            id: "msg_1",
            timestamp: 1_700_000_000,
            body: b"{}",
            secrets: &[],
        })
        .await
    }

    /// Attempt errors are coarse: a closed port reads "could not connect" with no detail a
    /// tenant could scan with, and a hostname resolving to a private address is refused
    /// without naming the address.
    #[tokio::test]
    async fn attempt_errors_say_what_failed_but_not_what_is_there() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let open = deliverer("127.0.0.0/8,::1");
        let r = attempt(&open, &format!("http://127.0.0.1:{port}/hook")).await;
        assert_eq!(r.error.as_deref(), Some("could not connect"), "{r:?}");
        let r = attempt(&open, &format!("http://localhost:{port}/hook")).await;
        assert_eq!(r.error.as_deref(), Some("could not connect"), "{r:?}");

        let closed_policy = deliverer("");
        let r = attempt(&closed_policy, &format!("http://localhost:{port}/hook")).await;
        let error = r.error.unwrap();
        assert!(error.starts_with("refused"), "{error}");
        assert!(
            !error.contains("127.0.0.1") && !error.contains("::1"),
            "{error}"
        );
    }
}
